// Maps the command line's learned-rounding flags onto the engine's options.
#pragma once

#include "cli/convert_options.hpp"
#include "engine/learned_rounding.hpp"

namespace ctq {

LearnedOptions to_learned_options(const ConvertOptions& o);

}  // namespace ctq
