// CPU twins of the INT8 weight quantization kernels (see ctq/kernels/int8.hpp). Threads split
// rows or tiles; every output element is computed by the same operations whatever the split,
// and maxima are order-free, so results do not depend on the thread count.
#include "weight_input.hpp"

#include <ctq/kernels/int8.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

namespace ctq::kern {
namespace {

uint32_t abs_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u & 0x7fffffffu;
}

// Max |w| of rows [r0, r1) into per-tile-column slots of one tile row. The maximum is taken over
// the bits of |w| as integers: the same order as the floats for finite values, and NaN or Inf
// sort above every finite value, so a tile holding one gets a non-finite amax (the quantizer
// needs no separate scan for them) and the loop vectorises.
template <class In>
void rows_amax(const typename In::Stored* w, const Int8Tiling& t, int64_t r0, int64_t r1, float* tile_row) {
    for (int64_t r = r0; r < r1; ++r) {
        const typename In::Stored* src = w + r * t.cols;
        for (int64_t c0 = 0, tc = 0; c0 < t.cols; c0 += t.tile_cols, ++tc) {
            const int64_t c1 = std::min(t.cols, c0 + t.tile_cols);
            const uint32_t m = std::max(abs_bits(tile_row[tc]), In::abs_max_bits(src + c0, c1 - c0));
            std::memcpy(&tile_row[tc], &m, 4);
        }
    }
}

template <class In>
void tile_amax(const typename In::Stored* w, const Int8Tiling& t, float* amax) {
    std::fill(amax, amax + t.count(), 0.f);
    const int64_t gc = t.grid_cols();
    if (t.grid_rows() > 1) {  // tile rows are disjoint: one band per index
        parallel_for(t.grid_rows(), t.tile_rows * t.cols, [&](int64_t b, int64_t e) {
            for (int64_t tr = b; tr < e; ++tr)
                rows_amax<In>(w, t, tr * t.tile_rows, std::min(t.rows, (tr + 1) * t.tile_rows), amax + tr * gc);
        });
        return;
    }
    std::mutex mu;  // one tile row (tensor mode, or fewer rows than a tile): merge partial maxima
    parallel_for(t.rows, t.cols, [&](int64_t b, int64_t e) {
        std::vector<float> part(static_cast<size_t>(gc), 0.f);
        rows_amax<In>(w, t, b, e, part.data());
        std::lock_guard<std::mutex> lock(mu);
        for (int64_t i = 0; i < gc; ++i)
            if (abs_bits(part[i]) > abs_bits(amax[i])) amax[i] = part[i];  // NaN-propagating merge
    });
}

}  // namespace

void int8_tile_amax_cpu(const float* w, const Int8Tiling& t, float* amax) { tile_amax<F32Input>(w, t, amax); }

void int8_tile_scales_cpu(Int8Mode mode, const float* amax, int64_t count, float* apply,
                          float* stored) {
    const bool all_zero = std::all_of(amax, amax + count, [](float a) { return a == 0.f; });
    for (int64_t i = 0; i < count; ++i) {
        const Int8TileScale s = all_zero ? int8_zero_weight_scale() : int8_tile_scale(mode, amax[i]);
        apply[i] = s.apply;
        stored[i] = s.stored;
    }
}

namespace {

// One tile's span of a row with its scale and mode fixed, so the loop vectorises: the same
// int8_encode as everywhere, with the per-element mode test and tile division hoisted out.
template <Int8Mode kMode>
void encode_span(const float* w, int64_t n, float apply, int8_t* q) {
    for (int64_t c = 0; c < n; ++c) q[c] = int8_encode(kMode, w[c], apply);
}

#if defined(CTQ_CPU_AVX2)
// Eight codes of encode_span in int32 lanes. min/max clamp as int8_clamp127 does (no NaN gets
// here) and cvtps rounds half to even under the default rounding mode, as int8_rne does.
template <Int8Mode kMode, class In>
__attribute__((target("avx2,f16c"))) inline __m256i int8_codes8_avx2(const typename In::Stored* w, __m256 apply) {
    const __m256 v = load8_avx2<In>(w);
    const __m256 x = kMode == Int8Mode::Block ? _mm256_div_ps(v, apply) : _mm256_mul_ps(v, apply);
    return _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(127.f)), _mm256_set1_ps(-127.f)));
}

// encode_span on whole 32-element steps, read as stored; returns how far it got.
template <Int8Mode kMode, class In>
__attribute__((target("avx2,f16c"))) int64_t encode_span_avx2(const typename In::Stored* w, int64_t n, float apply,
                                                               int8_t* q) {
    const __m256 a = _mm256_set1_ps(apply);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);  // packs work per 128-bit half
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i lo = _mm256_packs_epi32(int8_codes8_avx2<kMode, In>(w + i, a), int8_codes8_avx2<kMode, In>(w + i + 8, a));
        const __m256i hi = _mm256_packs_epi32(int8_codes8_avx2<kMode, In>(w + i + 16, a), int8_codes8_avx2<kMode, In>(w + i + 24, a));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), _mm256_permutevar8x32_epi32(_mm256_packs_epi16(lo, hi), order));
    }
    return i;
}
#endif

template <Int8Mode kMode, class In>
void encode_stored_span(const typename In::Stored* w, int64_t n, float apply, int8_t* q) {
    int64_t i = 0;
#if defined(CTQ_CPU_AVX2)
    if (cpu_has_avx2()) i = encode_span_avx2<kMode, In>(w, n, apply, q);
#endif
    for_each_f32_piece<In>(w + i, n - i, [&](const float* x, int64_t at, int64_t len) {
        encode_span<kMode>(x, len, apply, q + i + at);
    });
}

template <Int8Mode kMode, class In>
void encode_rows(const typename In::Stored* w, const Int8Tiling& t, const float* apply, int8_t* q, int64_t r0,
                 int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* tile_row = apply + (r / t.tile_rows) * t.grid_cols();
        for (int64_t c0 = 0, tc = 0; c0 < t.cols; c0 += t.tile_cols, ++tc)
            encode_stored_span<kMode, In>(w + r * t.cols + c0, std::min(t.tile_cols, t.cols - c0), tile_row[tc],
                                          q + r * t.cols + c0);
    }
}

template <class In>
void encode(Int8Mode mode, const typename In::Stored* w, const Int8Tiling& t, const float* apply, int8_t* q) {
    parallel_for(t.rows, t.cols, [&](int64_t b, int64_t e) {
        switch (mode) {
            case Int8Mode::Tensor: return encode_rows<Int8Mode::Tensor, In>(w, t, apply, q, b, e);
            case Int8Mode::Row: return encode_rows<Int8Mode::Row, In>(w, t, apply, q, b, e);
            case Int8Mode::Block: return encode_rows<Int8Mode::Block, In>(w, t, apply, q, b, e);
        }
    });
}

// A non-finite amax is the only sign of NaN/Inf; only then is the weight scanned for the count
// and position the error message gives.
template <class In>
Int8NonFinite quantize(Int8Mode mode, const typename In::Stored* w, const Int8Tiling& t, int8_t* q,
                       float* stored) {
    std::vector<float> amax(static_cast<size_t>(t.count())), apply(amax.size());
    tile_amax<In>(w, t, amax.data());
    if (!std::all_of(amax.begin(), amax.end(), [](float a) { return std::isfinite(a); }))
        return scan_non_finite<In>(w, t.rows * t.cols);
    int8_tile_scales_cpu(mode, amax.data(), t.count(), apply.data(), stored);
    encode<In>(mode, w, t, apply.data(), q);
    return {};
}

}  // namespace

void int8_encode_cpu(Int8Mode mode, const float* w, const Int8Tiling& t, const float* apply,
                     int8_t* q) {
    encode<F32Input>(mode, w, t, apply, q);
}

void int8_decode_cpu(const int8_t* q, const Int8Tiling& t, const float* stored, float* w) {
    parallel_for(t.rows, t.cols, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const float* tile_row = stored + (r / t.tile_rows) * t.grid_cols();
            for (int64_t c = 0; c < t.cols; ++c)
                w[r * t.cols + c] = int8_decode(q[r * t.cols + c], tile_row[c / t.tile_cols]);
        }
    });
}

Int8NonFinite int8_quantize_cpu(Int8Mode mode, const float* w, const Int8Tiling& t, int8_t* q,
                                float* stored) {
    return quantize<F32Input>(mode, w, t, q, stored);
}

Int8NonFinite int8_quantize_cpu(Int8Mode mode, const void* w, ctq_dtype w_dtype, const Int8Tiling& t,
                                int8_t* q, float* stored) {
    return with_weight_input(w_dtype, [&](auto in) {
        using In = decltype(in);
        return quantize<In>(mode, static_cast<const typename In::Stored*>(w), t, q, stored);
    });
}

}  // namespace ctq::kern
