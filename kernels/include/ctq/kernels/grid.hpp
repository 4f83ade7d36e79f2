// Grid operations of learned rounding, one element at a time: the single definition behind the
// CPU twins (kernels/cpu/fp8_grid.cpp, plugins/int8_block/int8_grid_ops.cpp) and the CUDA
// kernels (kernels/cuda/fp8_grid.cu, int8_grid.cu), so both give the same bits.
//
// The grid of an element is every value its layout can write with that element's stored scale:
//   FP8:  { decode(c) * d : every non-NaN code c }      (one float multiply, as fp8 dequantize)
//   INT8: { c * d : c in [-127, 127] }                  (one float multiply, as int8_decode)
// bracket(x) gives the nearest grid values lo <= x <= hi (lo == hi when x is on the grid or
// beyond the saturated ends); encode_value(v) the code whose dequantized value is v.
#pragma once

#include <ctq/kernels/fp8.hpp>
#include <ctq/kernels/hd.hpp>
#include <ctq/kernels/int8.hpp>

#include <math.h>

#include <cstdint>

namespace ctq::kern {

CTQ_HD bool grid_is_nan(float x) { return x != x; }

CTQ_HD float grid_nan() { return f32_from_bits(0x7fc00000u); }

// FP8 codes in value order ("ordinals", -top..top): walking them from a round-to-nearest guess
// gives exact answers whatever rounding the guess suffered.
template <class F>
struct Fp8Grid {
    static constexpr int kTop = static_cast<int>(F::kMaxCode);

    CTQ_HD static uint8_t code(int ord, bool negative_zero = false) {
        if (ord == 0) return negative_zero ? 0x80 : 0x00;
        return static_cast<uint8_t>(ord > 0 ? ord : (0x80 | -ord));
    }
    CTQ_HD static int ordinal(uint8_t c) { return (c & 0x80) ? -int(c & 0x7f) : int(c); }
    CTQ_HD static float value(int ord, float d) { return int8_mul_rn(fp8_decode<F>(code(ord)), d); }

    // Ordinal of the largest grid value <= x (the lowest ordinal when x is below the grid).
    CTQ_HD static int floor_ordinal(float x, float d) {
        int g = ordinal(fp8_encode<F>(int8_div_rn(x, d)));
        while (g > -kTop && value(g, d) > x) --g;
        while (g < kTop && value(g + 1, d) <= x) ++g;
        return g;
    }
};

// NaN x gives NaN lo and hi; beyond +-top both are the saturated end.
template <class F>
CTQ_HD void fp8_bracket_element(float x, float d, float& lo, float& hi) {
    using G = Fp8Grid<F>;
    const float top = G::value(G::kTop, d);
    if (grid_is_nan(x)) {
        lo = hi = grid_nan();
    } else if (x >= top || x <= -top) {
        lo = hi = x >= top ? top : -top;
    } else {
        const int g = G::floor_ordinal(x, d);
        lo = G::value(g, d);
        hi = lo == x ? lo : G::value(g + 1, d);
    }
}

// The code of grid value v (a negative zero keeps its sign); false when v is not on the grid.
template <class F>
CTQ_HD bool fp8_encode_value_element(float v, float d, uint8_t& code) {
    using G = Fp8Grid<F>;
    if (grid_is_nan(v)) return false;
    const int g = G::floor_ordinal(v, d);
    if (G::value(g, d) != v) return false;
    code = G::code(g, f32_bits(v) >> 31);
    return true;
}

// lo <= x <= hi on the INT8 grid of `scale`; lo == hi when x is on the grid or beyond +-127
// steps. x / scale is rounded, so the guess is stepped until value(f) <= x < value(f + 1).
CTQ_HD void int8_bracket_element(float x, float scale, float& lo, float& hi) {
    float f = floorf(int8_div_rn(x, scale));
    f = int8_clamp127(f);
    while (f > -127.f && int8_decode(static_cast<int8_t>(f), scale) > x) f -= 1.f;
    while (f < 127.f && int8_decode(static_cast<int8_t>(f + 1.f), scale) <= x) f += 1.f;
    lo = int8_decode(static_cast<int8_t>(f), scale);
    // Below the grid (f == -127 and lo > x), on it, or beyond +127 steps: one candidate.
    hi = (lo >= x || f == 127.f) ? lo : int8_decode(static_cast<int8_t>(f + 1.f), scale);
}

// The code nearest v / scale (v is a grid value, so this is its exact code).
CTQ_HD int8_t int8_encode_value_element(float v, float scale) {
    return static_cast<int8_t>(int8_rne(int8_clamp127(int8_div_rn(v, scale))));
}

#ifdef CTQ_HAVE_CUDA
// ---- CUDA (device pointers, enqueued on `stream`, a cudaStream_t or nullptr) -----------------
// The same operations as the CPU twins, element for element. Errors throw std::runtime_error.
void fp8_bracket_cuda(const float* x, const Fp8Tiling& t, const float* scale, Fp8Format f,
                      float* lo, float* hi, void* stream);
// Synchronizes the stream: returns -1, or the row-major index of the first v not on its grid.
int64_t fp8_encode_values_cuda(const float* v, const Fp8Tiling& t, const float* scale,
                               Fp8Format f, uint8_t* codes, void* stream);
void fp8_expand_scale_cuda(const Fp8Tiling& t, const float* scale, float* out, void* stream);

void int8_bracket_cuda(const float* x, const Int8Tiling& t, const float* stored, float* lo,
                       float* hi, void* stream);
void int8_encode_values_cuda(const float* v, const Int8Tiling& t, const float* stored, int8_t* q,
                             void* stream);
void int8_expand_scale_cuda(const Int8Tiling& t, const float* stored, float* out, void* stream);
#endif

}  // namespace ctq::kern
