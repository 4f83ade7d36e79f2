// ConvRot group Hadamard rotation (REFERENCE_SPEC 5.10, ComfyUI int8_tensorwise + convrot).
//
// H_G, G = 4^k, is the k-th Kronecker power of the regular Hadamard matrix
//   H4 = [[1,1,1,-1],[1,1,-1,1],[1,-1,1,1],[-1,1,1,1]]
// divided by sqrt(G) = 2^k. H_G is symmetric and orthogonal, so rotating a row's groups by H_G
// is its own inverse and serves both sides: the stored weight is W_rot = W · blockdiag(H_G)^T
// (each length-G group g of a row becomes H_G g) and ComfyUI feeds x_rot = x · blockdiag(H_G).
//
// Fast transform, O(G log G) per group, float32, same bits on CPU and CUDA: stages s = 0..k-1
// walk the base-4 digits of the index from least to most significant; each stage applies H4/2
// to the 4 elements that differ only in digit s:
//   p = a + b, m = a - b, q = c + d, r = c - d
//   a' = (p + r)/2, b' = (p - r)/2, c' = (m + q)/2, d' = (q - m)/2
// Halving is exact (barring subnormals), so each output is a depth-2k tree of additions — the
// accuracy of a plain fast Walsh–Hadamard transform, and magnitudes never grow past 2x a stage.
#pragma once

#include <ctq/kernels/hd.hpp>

#include <cstdint>

namespace ctq::kern {

inline bool is_power_of_4(int64_t g) {
    if (g < 1 || (g & (g - 1)) != 0) return false;
    int bit = 0;
    while ((int64_t{1} << bit) != g) ++bit;
    return bit % 2 == 0;
}

// log4(g) for a power of 4.
inline int hadamard_stages(int64_t g) {
    int k = 0;
    while (g > 1) {
        g >>= 2;
        ++k;
    }
    return k;
}

// --dynamic-convrot: the largest power of 4 >= min_group that divides in_features, 0 if none
// (4096 -> 4096, 3072 -> 1024, 1152 -> 0, 512 -> 256 with min_group 256).
inline int64_t dynamic_convrot_group(int64_t in_features, int64_t min_group) {
    if (in_features <= 0) return 0;
    int64_t best = 0;
    for (int64_t g = 1; g <= in_features && g <= (int64_t{1} << 60); g *= 4)
        if (g >= min_group && in_features % g == 0) best = g;
    return best;
}

// One H4/2 butterfly on four values.
CTQ_HD void hadamard4_half(float& a, float& b, float& c, float& d) {
#if defined(__CUDA_ARCH__)
    const float p = __fadd_rn(a, b), m = __fsub_rn(a, b), q = __fadd_rn(c, d), r = __fsub_rn(c, d);
    a = __fmul_rn(__fadd_rn(p, r), 0.5f);
    b = __fmul_rn(__fsub_rn(p, r), 0.5f);
    c = __fmul_rn(__fadd_rn(m, q), 0.5f);
    d = __fmul_rn(__fsub_rn(q, m), 0.5f);
#else
    const float p = a + b, m = a - b, q = c + d, r = c - d;
    a = (p + r) * 0.5f;
    b = (p - r) * 0.5f;
    c = (m + q) * 0.5f;
    d = (q - m) * 0.5f;
#endif
}

// Stage s of the transform on one group `v` of length G: butterfly number j (0 <= j < G/4).
CTQ_HD void hadamard_stage_butterfly(float* v, int stage, int64_t j) {
    const int64_t stride = int64_t{1} << (2 * stage);  // 4^stage
    const int64_t low = j % stride, high = j / stride;
    float* base = v + high * stride * 4 + low;
    hadamard4_half(base[0], base[stride], base[2 * stride], base[3 * stride]);
}

// ---- CPU twin (kernels/cpu/int8_rotate.cpp) and CUDA kernel (kernels/cuda/int8_rotate.cu). ----
// Rotates every length-`group` slice of each row of data [rows, cols] in place. `group` must be
// a power of 4 dividing cols (throws std::invalid_argument otherwise). Applying it twice gives
// the input back (up to float rounding).
void hadamard_rotate_rows_cpu(float* data, int64_t rows, int64_t cols, int64_t group);
#if defined(CTQ_HAVE_CUDA)
// group <= 16384 (one group lives in shared memory); larger throws std::invalid_argument.
void hadamard_rotate_rows_cuda(float* data, int64_t rows, int64_t cols, int64_t group,
                               void* stream);
#endif

}  // namespace ctq::kern
