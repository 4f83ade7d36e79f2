// The reference accepts each long flag with dashes or underscores (--scaling-mode and
// --scaling_mode) plus a few multi-letter single-dash forms (-fpmm, -esloss). Boost.Program_options
// knows one spelling per option, so argv is rewritten to the underscore spelling first.
#pragma once

#include <string>
#include <vector>

namespace ctq {

std::vector<std::string> normalize_argv(const std::vector<std::string>& args);

}  // namespace ctq
