// INT8 block GEMM, the runtime side of int8_blockwise (REFERENCE_SPEC 13.3, without its
// defects 5 and 13): y = x · W^T + b for W stored as int8 codes [N, K] with one scale per
// bs x bs tile ([ceil(N/bs), ceil(K/bs)]), any bs, partial tiles included.
//
// Activations are quantized at run time per row and per 1 x bs block along K (the same K
// blocks as the weight tiles): d = amax / 127 (true division; a block whose d is 0 gets codes 0),
// codes rne(clamp(x / d, -127, 127)). For each (row t, output n) and each K block kb the int8
// products are summed exactly in int32, then
//     y = 0;  for kb = 0, 1, ...:  y = fl(y + fl(float(acc_kb) * fl(x_scale[t,kb] * w_scale[n/bs,kb])))
//     y = fl(y + bias[n])
// in float32, one rounding per operation, K blocks in ascending order. The CPU twin and the CUDA
// kernel both follow exactly this order, so their outputs are bit-identical (int32 sums are
// exact whatever the order; the float steps are the same operations in the same order).
// Output is float32, so bf16/fp16 models cannot overflow in the GEMM (REFERENCE defect 13).
#pragma once

#include <ctq/kernels/int8.hpp>

#include <climits>
#include <cstdint>
#include <stdexcept>

namespace ctq::kern {

struct Int8LinearShape {
    int64_t tokens = 0;        // rows of x
    int64_t in_features = 0;   // K
    int64_t out_features = 0;  // N
    int64_t block = 128;       // bs of the weight tiles and of the activation blocks
    CTQ_HD int64_t k_blocks() const { return (in_features + block - 1) / block; }
};

// The shape rules both twins enforce (the CUDA kernel adds its launch limits).
inline void int8_linear_check_shape(const Int8LinearShape& s) {
    if (s.tokens < 0 || s.in_features < 1 || s.out_features < 1 || s.block < 1)
        throw std::invalid_argument("int8 block linear: tokens >= 0, in/out features >= 1 and "
                                    "block >= 1 are required");
    if (s.block * 127 * 127 > INT32_MAX)
        throw std::invalid_argument("int8 block linear: block too large for int32 sums");
}

CTQ_HD float int8_act_block_scale(float amax) { return int8_div_rn(amax, 127.f); }

CTQ_HD int8_t int8_act_encode(float x, float d) {
    if (d == 0.f) return 0;
    return static_cast<int8_t>(int8_rne(int8_clamp127(int8_div_rn(x, d))));
}

CTQ_HD float int8_block_term(int32_t acc, float x_scale, float w_scale) {
    return int8_mul_rn(static_cast<float>(acc), int8_mul_rn(x_scale, w_scale));
}

// ---- CPU twin (kernels/cpu/int8_gemm.cpp) ----
// x [tokens, K] -> codes xq [tokens, K] and scales xs [tokens, k_blocks].
void int8_quantize_activations_cpu(const float* x, const Int8LinearShape& s, int8_t* xq,
                                   float* xs);
// x [tokens, K] f32, w [N, K] int8, w_scale [ceil(N/bs), k_blocks] f32, bias [N] or nullptr,
// y [tokens, N] f32. Throws std::invalid_argument on a bad shape.
void int8_block_linear_cpu(const float* x, const int8_t* w, const float* w_scale,
                           const float* bias, const Int8LinearShape& s, float* y);

// ---- CUDA (kernels/cuda/int8_gemm.cu): device pointers, enqueued on `stream`
// (cudaStream_t, nullptr = default); workspace (padded int8 copies of x and W) is allocated
// stream-ordered and freed. The GEMM runs on int8 tensor cores: compute capability 8.0+
// (std::invalid_argument otherwise). Measured on one H200 (tests/gpu/test_int8_kernels.cpp):
// 4096x3072x3072, bs 128, 0.61 ms including activation quantization and weight re-layout. ----
#if defined(CTQ_HAVE_CUDA)
void int8_quantize_activations_cuda(const float* x, const Int8LinearShape& s, int8_t* xq,
                                    float* xs, void* stream);
void int8_block_linear_cuda(const float* x, const int8_t* w, const float* w_scale,
                            const float* bias, const Int8LinearShape& s, float* y, void* stream);
#endif

}  // namespace ctq::kern
