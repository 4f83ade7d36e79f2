// `ctq convert`: one streaming pass over the input (REFERENCE 1.3, without its whole-model
// buffers): plan every tensor, write the header, then quantize or copy tensor by tensor.
#pragma once

#include "cli/convert_options.hpp"

namespace ctq {

class Registry;

// Returns the process exit status; throws CtqError on bad input (the caller prints it).
int run_convert(const ConvertOptions& options, Registry& registry);

}  // namespace ctq
