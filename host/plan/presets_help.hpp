// The --help-filters section, made from the registered presets (the host has no list of its own).
#pragma once

#include <string>

namespace ctq {

class Registry;

// Presets grouped by category (text, diffusion, video, image, then any other in order of first
// appearance), one "  --name  help" line each, with what the rules do beyond excluding.
std::string presets_help(const Registry& registry);

}  // namespace ctq
