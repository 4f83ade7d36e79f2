#include "weight_input.hpp"

#include <ctq/kernels/non_finite.hpp>

namespace ctq::kern {

NonFiniteCount scan_non_finite_cpu(const float* w, int64_t n) { return scan_non_finite<F32Input>(w, n); }

}  // namespace ctq::kern
