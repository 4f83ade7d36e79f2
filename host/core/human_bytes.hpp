// Sizes for people: "1.5 MiB" (binary units), used by every report and progress line.
#pragma once

#include <string>

namespace ctq {

std::string human_bytes(double bytes);

}  // namespace ctq
