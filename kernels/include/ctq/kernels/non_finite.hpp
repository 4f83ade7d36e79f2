// NaN and Inf in a weight: how many, and where the first is. One scan serves every format.
#pragma once

#include <cstdint>

namespace ctq::kern {

struct NonFiniteCount {
    int64_t count = 0;
    int64_t first = -1;  // row-major index of the first NaN/Inf, -1 if none
};

// CPU (kernels/cpu/non_finite.cpp), parallel over chunks.
NonFiniteCount scan_non_finite_cpu(const float* w, int64_t n);

}  // namespace ctq::kern
