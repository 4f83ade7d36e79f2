// CPU twin of the INT8 block GEMM (see ctq/kernels/int8_gemm.hpp for the exact op order).
#include <ctq/kernels/int8_gemm.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace ctq::kern {
namespace {

void check_shape(const Int8LinearShape& s) {
    if (s.tokens < 0 || s.in_features < 1 || s.out_features < 1 || s.block < 1)
        throw std::invalid_argument("int8 block linear: tokens >= 0, in/out features >= 1 and "
                                    "block >= 1 are required");
    if (s.block * 127 * 127 > INT32_MAX)
        throw std::invalid_argument("int8 block linear: block too large for int32 sums");
}

}  // namespace

void int8_quantize_activations_cpu(const float* x, const Int8LinearShape& s, int8_t* xq,
                                   float* xs) {
    const int64_t K = s.in_features, nkb = s.k_blocks();
    for (int64_t t = 0; t < s.tokens; ++t)
        for (int64_t kb = 0; kb < nkb; ++kb) {
            const int64_t k0 = kb * s.block, k1 = std::min(K, k0 + s.block);
            float amax = 0.f;
            for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(x[t * K + k]));
            const float d = int8_act_block_scale(amax);
            xs[t * nkb + kb] = d;
            for (int64_t k = k0; k < k1; ++k) xq[t * K + k] = int8_act_encode(x[t * K + k], d);
        }
}

void int8_block_linear_cpu(const float* x, const int8_t* w, const float* w_scale,
                           const float* bias, const Int8LinearShape& s, float* y) {
    check_shape(s);
    const int64_t K = s.in_features, N = s.out_features, nkb = s.k_blocks();
    std::vector<int8_t> xq(static_cast<size_t>(s.tokens * K));
    std::vector<float> xs(static_cast<size_t>(s.tokens * nkb));
    int8_quantize_activations_cpu(x, s, xq.data(), xs.data());
    for (int64_t t = 0; t < s.tokens; ++t) {
        const int8_t* a = xq.data() + t * K;
        for (int64_t n = 0; n < N; ++n) {
            const int8_t* b = w + n * K;
            const float* ws = w_scale + (n / s.block) * nkb;
            float acc_f = 0.f;
            for (int64_t kb = 0; kb < nkb; ++kb) {
                const int64_t k0 = kb * s.block, k1 = std::min(K, k0 + s.block);
                int32_t acc = 0;
                for (int64_t k = k0; k < k1; ++k) acc += int32_t{a[k]} * int32_t{b[k]};
                acc_f = int8_add_rn(acc_f, int8_block_term(acc, xs[t * nkb + kb], ws[kb]));
            }
            y[t * N + n] = bias ? int8_add_rn(acc_f, bias[n]) : acc_f;
        }
    }
}

}  // namespace ctq::kern
