// CPU twin of the ConvRot group Hadamard rotation (see ctq/kernels/hadamard.hpp).
#include "weight_input.hpp"

#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/int8.hpp>
#include <ctq/kernels/parallel.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace ctq::kern {

void hadamard_rotate_rows_cpu(float* data, int64_t rows, int64_t cols, int64_t group) {
    if (!is_power_of_4(group) || cols % group != 0)
        throw std::invalid_argument("Hadamard group " + std::to_string(group) +
                                    " must be a power of 4 dividing in_features " +
                                    std::to_string(cols));
    const int stages = hadamard_stages(group);
    const int64_t groups = rows * (cols / group);
    parallel_for(groups, group * stages, [&](int64_t b, int64_t e) {
        for (int64_t g = b; g < e; ++g) {
            float* v = data + g * group;
            for (int s = 0; s < stages; ++s)
                for (int64_t j = 0; j < group / 4; ++j) hadamard_stage_butterfly(v, s, j);
        }
    });
}

Int8NonFinite int8_quantize_rotated_cpu(Int8Mode mode, const float* w, const Int8Tiling& t,
                                        int64_t group, int8_t* q, float* stored) {
    return int8_quantize_rotated_cpu(mode, w, CTQ_DTYPE_F32, t, group, q, stored);
}

// The rotation works on an F32 copy anyway: the weight is widened into it, scanned there
// (positions are the weight's), rotated and quantized.
Int8NonFinite int8_quantize_rotated_cpu(Int8Mode mode, const void* w, ctq_dtype w_dtype, const Int8Tiling& t,
                                        int64_t group, int8_t* q, float* stored) {
    std::vector<float> rotated(static_cast<size_t>(t.rows * t.cols));
    with_weight_input(w_dtype, [&](auto in) {
        using In = decltype(in);
        const auto* src = static_cast<const typename In::Stored*>(w);
        parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
            widen_span<In>(src + r0 * t.cols, (r1 - r0) * t.cols, rotated.data() + r0 * t.cols);
        });
    });
    const Int8NonFinite bad = int8_scan_non_finite_cpu(rotated.data(), t.rows * t.cols);
    if (bad.count != 0) return bad;
    hadamard_rotate_rows_cpu(rotated.data(), t.rows, t.cols, group);
    return int8_quantize_cpu(mode, rotated.data(), t, q, stored);  // finite unless it overflowed
}

}  // namespace ctq::kern
