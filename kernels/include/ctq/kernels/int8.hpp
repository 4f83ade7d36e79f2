// Symmetric INT8 weight quantization (codes in [-127, 127]) with one scale per tile of a
// [rows, cols] weight: per tensor, per row or per block x block tile. The scalar maths below is
// shared by the CPU twins (kernels/cpu/int8_quant.cpp) and the CUDA kernels
// (kernels/cuda/int8_quant.cu), so both produce the same bits.
//
// Op order (reference convert_to_quant 1.3.1, ../shared/golden/README.md), all float32:
//   tensor: d = max(amax, 1e-12) / 127            stored d,      codes rne(clamp(W * fl(1/d)))
//   row:    s = fl(fl(1 / max(amax, 1e-12)) * 127) stored fl(1/s), codes rne(clamp(W * s))
//   block:  d = max(amax / 127, 1e-8)             stored d,      codes rne(clamp(W / d))
// A weight that is zero everywhere gets codes 0 and every scale 1 (the reference crashes there).
#pragma once

#include <ctq/ctq_plugin.h>
#include <ctq/kernels/hd.hpp>
#include <ctq/kernels/non_finite.hpp>

#include <cmath>
#include <cstdint>

namespace ctq::kern {

enum class Int8Mode : int32_t { Tensor = 0, Row = 1, Block = 2 };

// How a tile's scale is applied while encoding: multiply by a quant scale, or divide by the
// stored (dequant) scale. Block mode divides; tensor and row multiply.
struct Int8TileScale {
    float apply;   // multiplier (tensor, row) or divisor (block)
    float stored;  // written to .weight_scale; dequant is code * stored
};

// The tiling of a [rows, cols] weight: element (r, c) uses scale (r / tile_rows) * grid_cols +
// c / tile_cols. Tensor mode is one tile of the whole weight, row mode 1 x cols tiles.
struct Int8Tiling {
    int64_t rows = 0, cols = 0, tile_rows = 1, tile_cols = 1;

    CTQ_HD int64_t grid_rows() const { return (rows + tile_rows - 1) / tile_rows; }
    CTQ_HD int64_t grid_cols() const { return (cols + tile_cols - 1) / tile_cols; }
    CTQ_HD int64_t count() const { return grid_rows() * grid_cols(); }
    CTQ_HD int64_t tile_of(int64_t r, int64_t c) const {
        return (r / tile_rows) * grid_cols() + c / tile_cols;
    }
};

inline Int8Tiling int8_tiling(Int8Mode mode, int64_t rows, int64_t cols, int64_t block) {
    const int64_t r = rows > 0 ? rows : 1, c = cols > 0 ? cols : 1;
    switch (mode) {
        case Int8Mode::Tensor: return {rows, cols, r, c};
        case Int8Mode::Row: return {rows, cols, 1, c};
        case Int8Mode::Block: break;
    }
    return {rows, cols, block, block};
}

// float32 operations with one rounding each. On the device the intrinsics forbid FMA
// contraction; on the host the compiler must not contract either (no -ffp-contract=fast with FMA).
CTQ_HD float int8_mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
CTQ_HD float int8_div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}
CTQ_HD float int8_add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}
// Round half to even (the default rounding mode; nothing in ctq changes it). Every caller
// clamps to +-127 first; for |x| < 2^22, adding and subtracting 1.5 * 2^23 rounds to an integer
// exactly as rint does, without the libm call that kept the CPU loop from vectorising.
CTQ_HD float int8_rne(float x) {
#if defined(__CUDA_ARCH__)
    return rintf(x);
#else
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23; IEEE evaluation (no -ffast-math) keeps
    return (x + kMagic) - kMagic;           // the two roundings apart
#endif
}
CTQ_HD float int8_clamp127(float x) { return x < -127.f ? -127.f : (x > 127.f ? 127.f : x); }

CTQ_HD Int8TileScale int8_tile_scale(Int8Mode mode, float amax) {
    switch (mode) {
        case Int8Mode::Tensor: {
            const float d = int8_div_rn(amax > 1e-12f ? amax : 1e-12f, 127.f);
            return {int8_div_rn(1.f, d), d};
        }
        case Int8Mode::Row: {
            const float s = int8_mul_rn(int8_div_rn(1.f, amax > 1e-12f ? amax : 1e-12f), 127.f);
            return {s, int8_div_rn(1.f, s)};
        }
        case Int8Mode::Block: break;
    }
    const float q = int8_div_rn(amax, 127.f);
    const float d = q > 1e-8f ? q : 1e-8f;
    return {d, d};
}

// The scale of an all-zero weight: codes come out 0 whichever way the scale is applied.
CTQ_HD Int8TileScale int8_zero_weight_scale() { return {1.f, 1.f}; }

CTQ_HD int8_t int8_encode(Int8Mode mode, float w, float apply) {
    const float x = mode == Int8Mode::Block ? int8_div_rn(w, apply) : int8_mul_rn(w, apply);
    return static_cast<int8_t>(int8_rne(int8_clamp127(x)));
}

CTQ_HD float int8_decode(int8_t q, float stored) { return int8_mul_rn(static_cast<float>(q), stored); }

// ---- CPU twins (kernels/cpu/int8_quant.cpp). Pointers are contiguous row-major host memory. ----

using Int8NonFinite = NonFiniteCount;

inline Int8NonFinite int8_scan_non_finite_cpu(const float* w, int64_t n) { return scan_non_finite_cpu(w, n); }
// amax[t] = max |w| over tile t (tiling.count() entries).
void int8_tile_amax_cpu(const float* w, const Int8Tiling& tiling, float* amax);
// apply/stored for each tile; all tiles get int8_zero_weight_scale() when every amax is 0.
void int8_tile_scales_cpu(Int8Mode mode, const float* amax, int64_t count, float* apply,
                          float* stored);
void int8_encode_cpu(Int8Mode mode, const float* w, const Int8Tiling& tiling, const float* apply,
                     int8_t* q);
void int8_decode_cpu(const int8_t* q, const Int8Tiling& tiling, const float* stored, float* w);

// The whole round-to-nearest pass (amax, scales, codes). Returns the non-finite scan; when its
// count is not 0 nothing is written.
Int8NonFinite int8_quantize_cpu(Int8Mode mode, const float* w, const Int8Tiling& tiling,
                                int8_t* q, float* stored);
// The same from the weight as stored: w_dtype F32, BF16 or F16 (std::invalid_argument
// otherwise). Bits equal those of the F32 overload on the widened weight, without widening it.
Int8NonFinite int8_quantize_cpu(Int8Mode mode, const void* w, ctq_dtype w_dtype, const Int8Tiling& tiling,
                                int8_t* q, float* stored);

// ConvRot (int8_tensorwise + convrot, row scales): scans w, rotates a copy of it by the group
// Hadamard of hadamard.hpp, then quantizes the copy. The scan reports positions in w. `group`
// must be a power of 4 dividing tiling.cols (std::invalid_argument otherwise).
Int8NonFinite int8_quantize_rotated_cpu(Int8Mode mode, const float* w, const Int8Tiling& tiling,
                                        int64_t group, int8_t* q, float* stored);
Int8NonFinite int8_quantize_rotated_cpu(Int8Mode mode, const void* w, ctq_dtype w_dtype,
                                        const Int8Tiling& tiling, int64_t group, int8_t* q, float* stored);

// ---- CUDA kernels (kernels/cuda/int8_quant.cu): same contracts on device pointers, enqueued
// on `stream` (a cudaStream_t, nullptr = default stream). Available when CTQ_HAVE_CUDA. ----
#if defined(CTQ_HAVE_CUDA)
Int8NonFinite int8_scan_non_finite_cuda(const float* w, int64_t n, void* stream);
void int8_tile_amax_cuda(const float* w, const Int8Tiling& tiling, float* amax, void* stream);
void int8_tile_scales_cuda(Int8Mode mode, const float* amax, int64_t count, float* apply,
                           float* stored, void* stream);
void int8_encode_cuda(Int8Mode mode, const float* w, const Int8Tiling& tiling, const float* apply,
                      int8_t* q, void* stream);
void int8_decode_cuda(const int8_t* q, const Int8Tiling& tiling, const float* stored, float* w,
                      void* stream);
// Synchronizes the stream; throws std::runtime_error on a CUDA error.
Int8NonFinite int8_quantize_cuda(Int8Mode mode, const float* w, const Int8Tiling& tiling,
                                 int8_t* q, float* stored, void* stream);
// Same as int8_quantize_rotated_cpu (kernels/cuda/int8_rotate.cu); synchronizes the stream.
Int8NonFinite int8_quantize_rotated_cuda(Int8Mode mode, const float* w, const Int8Tiling& tiling,
                                         int64_t group, int8_t* q, float* stored, void* stream);
// dst[0..n) = value (for scalar outputs that live on the device).
void int8_fill_cuda(float* dst, int64_t n, float value, void* stream);
#endif

}  // namespace ctq::kern
