// CPU twin of the INT8 block GEMM (see ctq/kernels/int8_gemm.hpp for the exact op order).
#include <ctq/kernels/int8_gemm.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace ctq::kern {
namespace {

void quantize_token(const float* x, const Int8LinearShape& s, int8_t* xq, float* xs) {
    for (int64_t kb = 0; kb < s.k_blocks(); ++kb) {
        const int64_t k0 = kb * s.block, k1 = std::min(s.in_features, k0 + s.block);
        float amax = 0.f;
        for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(x[k]));
        const float d = int8_act_block_scale(amax);
        xs[kb] = d;
        for (int64_t k = k0; k < k1; ++k) xq[k] = int8_act_encode(x[k], d);
    }
}

// One output: int32 sum per K block, folded in ascending block order (int8_gemm.hpp).
float dot_blocks(const int8_t* a, const float* a_scale, const int8_t* b, const float* b_scale,
                 const Int8LinearShape& s) {
    float y = 0.f;
    for (int64_t kb = 0; kb < s.k_blocks(); ++kb) {
        const int64_t k0 = kb * s.block, k1 = std::min(s.in_features, k0 + s.block);
        int32_t acc = 0;
        for (int64_t k = k0; k < k1; ++k) acc += int32_t{a[k]} * int32_t{b[k]};
        y = int8_add_rn(y, int8_block_term(acc, a_scale[kb], b_scale[kb]));
    }
    return y;
}

}  // namespace

void int8_quantize_activations_cpu(const float* x, const Int8LinearShape& s, int8_t* xq,
                                   float* xs) {
    const int64_t K = s.in_features, nkb = s.k_blocks();
    parallel_for(s.tokens, K, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) quantize_token(x + t * K, s, xq + t * K, xs + t * nkb);
    });
}

void int8_block_linear_cpu(const float* x, const int8_t* w, const float* w_scale,
                           const float* bias, const Int8LinearShape& s, float* y) {
    int8_linear_check_shape(s);
    const int64_t K = s.in_features, N = s.out_features, nkb = s.k_blocks();
    std::vector<int8_t> xq(static_cast<size_t>(s.tokens * K));
    std::vector<float> xs(static_cast<size_t>(s.tokens * nkb));
    int8_quantize_activations_cpu(x, s, xq.data(), xs.data());
    // Threads split the outputs; each output is one thread's dot_blocks, so no order changes.
    parallel_for(N, s.tokens * K, [&](int64_t begin, int64_t end) {
        for (int64_t t = 0; t < s.tokens; ++t)
            for (int64_t n = begin; n < end; ++n) {
                const float v = dot_blocks(xq.data() + t * K, xs.data() + t * nkb, w + n * K,
                                           w_scale + (n / s.block) * nkb, s);
                y[t * N + n] = bias ? int8_add_rn(v, bias[n]) : v;
            }
    });
}

}  // namespace ctq::kern
