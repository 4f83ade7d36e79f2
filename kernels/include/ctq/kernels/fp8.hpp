// FP8 round-to-nearest quantization with one scale per tile, as CPU twins and CUDA kernels that
// give the same bits. Per-tensor, per-row and per-block scaling are all tilings of the weight:
// tensor = one [M, N] tile, row = [1, N] tiles, block = [bs, bs] tiles (the last tile row and
// column may be partial and get their own scale).
//
// Scales follow the reference's float32 operation order (../shared/golden/README.md):
//   qscale = max / max(amax, 1e-12)            (Fp8ScaleRule::divide, per-tensor)
//   qscale = fl(1 / max(amax, 1e-12)) * max    (Fp8ScaleRule::reciprocal_multiply, row / block)
//   code   = fp8(RNE(clamp(w * qscale, -max, max))),   stored scale d = 1 / qscale,
//   dequantized value = decode(code) * d.
// A weight whose elements are all zero gets codes 0 and stored scales 1.
#pragma once

#include <ctq/ctq_plugin.h>
#include <ctq/kernels/fp8_codec.hpp>
#include <ctq/kernels/hd.hpp>
#include <ctq/kernels/non_finite.hpp>

#include <cstdint>

namespace ctq::kern {

enum class Fp8Format : int32_t { e4m3fn = 0, e5m2 = 1 };

enum class Fp8ScaleRule : int32_t { divide = 0, reciprocal_multiply = 1 };

// Calls fn(Fp8E4M3Fn{}) or fn(Fp8E5M2{}): the one place a runtime format becomes a type.
template <class Fn>
decltype(auto) with_fp8_format(Fp8Format f, Fn&& fn) {
    if (f == Fp8Format::e5m2) return fn(Fp8E5M2{});
    return fn(Fp8E4M3Fn{});
}

struct Fp8Tiling {
    int64_t rows = 0, cols = 0;            // the weight, row-major
    int64_t tile_rows = 1, tile_cols = 1;  // one scale per tile

    CTQ_HD int64_t tiles_down() const { return (rows + tile_rows - 1) / tile_rows; }
    CTQ_HD int64_t tiles_across() const { return (cols + tile_cols - 1) / tile_cols; }
    CTQ_HD int64_t tile_count() const { return tiles_down() * tiles_across(); }
    CTQ_HD int64_t tile_of(int64_t r, int64_t c) const {
        return (r / tile_rows) * tiles_across() + c / tile_cols;
    }

    static Fp8Tiling per_tensor(int64_t rows, int64_t cols) { return {rows, cols, rows, cols}; }
    static Fp8Tiling per_row(int64_t rows, int64_t cols) { return {rows, cols, 1, cols}; }
    static Fp8Tiling per_block(int64_t rows, int64_t cols, int64_t bs) { return {rows, cols, bs, bs}; }
};

// The quant multiplier for one tile's amax, in the rule's exact float32 order.
CTQ_HD float fp8_qscale(float amax, float fmt_max, Fp8ScaleRule rule) {
    const float a = amax > 1e-12f ? amax : 1e-12f;
#if defined(__CUDA_ARCH__)
    return rule == Fp8ScaleRule::divide ? __fdiv_rn(fmt_max, a) : __fmul_rn(__frcp_rn(a), fmt_max);
#else
    return rule == Fp8ScaleRule::divide ? fmt_max / a : (1.0f / a) * fmt_max;
#endif
}

// Turns per-tile amax (host memory) into quant multipliers and stored scales; for an all-zero
// weight (every amax 0) qscale is 0 and stored is 1. Returns false in that case.
inline bool fp8_scales_from_amax(const float* amax, int64_t n, Fp8Format f, Fp8ScaleRule rule,
                                 float* qscale, float* stored) {
    bool any_nonzero = false;
    for (int64_t i = 0; i < n; ++i) any_nonzero |= amax[i] != 0.0f;
    const float fmt_max = f == Fp8Format::e5m2 ? Fp8E5M2::kMax : Fp8E4M3Fn::kMax;
    for (int64_t i = 0; i < n; ++i) {
        qscale[i] = any_nonzero ? fp8_qscale(amax[i], fmt_max, rule) : 0.0f;
        stored[i] = any_nonzero ? 1.0f / qscale[i] : 1.0f;
    }
    return any_nonzero;
}

using Fp8NonFinite = NonFiniteCount;

// ---- CPU twins (host pointers; parallel over rows) ------------------------------------------

// Per-tile max |w|. An amax is NaN or Inf exactly when its tile holds a NaN or Inf.
void fp8_tile_amax_cpu(const float* w, const Fp8Tiling& t, float* amax);
// codes[i] = fp8(RNE(clamp(w[i] * qscale[tile(i)])))
void fp8_encode_cpu(const float* w, const Fp8Tiling& t, const float* qscale, Fp8Format f,
                    uint8_t* codes);
// out[i] = decode(codes[i]) * scale[tile(i)]
void fp8_decode_cpu(const uint8_t* codes, const Fp8Tiling& t, const float* scale, Fp8Format f,
                    float* out);
inline Fp8NonFinite fp8_find_nonfinite_cpu(const float* w, int64_t n) { return scan_non_finite_cpu(w, n); }
// The whole round-to-nearest quantization: amax, scales (stored: t.tile_count() floats), codes.
// When the weight holds NaN/Inf the returned count is non-zero and codes and scales are
// unspecified.
Fp8NonFinite fp8_quantize_cpu(const float* w, const Fp8Tiling& t, Fp8Format f, Fp8ScaleRule rule,
                              uint8_t* codes, float* stored);
// The same from the weight as stored: w_dtype F32, BF16 or F16 (std::invalid_argument
// otherwise). Bits equal those of the F32 overload on the widened weight, without widening it.
Fp8NonFinite fp8_quantize_cpu(const void* w, ctq_dtype w_dtype, const Fp8Tiling& t, Fp8Format f,
                              Fp8ScaleRule rule, uint8_t* codes, float* stored);

// ---- Grid operations for learned rounding (CPU) ---------------------------------------------
// The grid of an element is { decode(c) * scale[tile] : every non-NaN code c }.

// lo <= x <= hi, the nearest grid values around x (lo == hi when x is on the grid or beyond
// +-max * scale, where both are the saturated end). NaN x gives NaN lo and hi.
void fp8_bracket_cpu(const float* x, const Fp8Tiling& t, const float* scale, Fp8Format f,
                     float* lo, float* hi);
// Codes whose dequantized value equals v exactly. Returns -1, or the row-major index of the
// first v that is not on its grid (codes then partly written).
int64_t fp8_encode_values_cpu(const float* v, const Fp8Tiling& t, const float* scale,
                              Fp8Format f, uint8_t* codes);
// out[i] = scale[tile(i)]: the per-element dequantization multiplier.
void fp8_expand_scale_cpu(const Fp8Tiling& t, const float* scale, float* out);

#ifdef CTQ_HAVE_CUDA
// ---- CUDA (device pointers, enqueued on `stream`, a cudaStream_t or nullptr) -----------------
// Same operations and bits as the CPU twins. Functions returning a result synchronize the
// stream; the others only enqueue. Errors throw std::runtime_error naming the CUDA call.
void fp8_tile_amax_cuda(const float* w, const Fp8Tiling& t, float* amax, void* stream);
void fp8_encode_cuda(const float* w, const Fp8Tiling& t, const float* qscale, Fp8Format f,
                     uint8_t* codes, void* stream);
void fp8_decode_cuda(const uint8_t* codes, const Fp8Tiling& t, const float* scale, Fp8Format f,
                     float* out, void* stream);
Fp8NonFinite fp8_find_nonfinite_cuda(const float* w, int64_t n, void* stream);
Fp8NonFinite fp8_quantize_cuda(const float* w, const Fp8Tiling& t, Fp8Format f,
                               Fp8ScaleRule rule, uint8_t* codes, float* stored, void* stream);
#endif

}  // namespace ctq::kern
