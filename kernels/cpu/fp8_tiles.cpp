// CPU twins of the FP8 tile kernels: amax, encode, decode, non-finite search, and the whole
// round-to-nearest quantization. Inner loops run over one tile's contiguous columns of a row
// with the format fixed at compile time (and SIMD, fp8_simd.hpp); threads split rows.
#include "fp8_simd.hpp"

#include <ctq/kernels/fp8.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

namespace ctq::kern {
namespace {

// Folds one row into the running per-tile-column maxima `acc` (tiles_across entries), as f32
// bits: for non-negative floats integer order is float order, and NaN (bits above Inf's) wins,
// so a non-finite element shows in the result.
template <class In>
void accumulate_row_amax(const typename In::Stored* row, const Fp8Tiling& t, uint32_t* acc) {
    for (int64_t c0 = 0, j = 0; c0 < t.cols; c0 += t.tile_cols, ++j) {
        const uint32_t m = In::abs_max_bits(row + c0, std::min(t.tile_cols, t.cols - c0));
        acc[j] = std::max(acc[j], m);
    }
}

// Encodes one row; qs holds the quant multipliers of the row's tile row.
template <class F, class In>
void encode_row(const typename In::Stored* row, const Fp8Tiling& t, const float* qs, uint8_t* out) {
    for (int64_t c0 = 0, j = 0; c0 < t.cols; c0 += t.tile_cols, ++j)
        fp8_encode_stored_span<F, In>(row + c0, qs[j], out + c0, std::min(t.tile_cols, t.cols - c0));
}

template <class In>
void tile_amax(const typename In::Stored* w, const Fp8Tiling& t, float* amax) {
    const int64_t across = t.tiles_across();
    std::vector<uint32_t> bits(static_cast<size_t>(t.tile_count()), 0u);
    if (t.tiles_down() == 1) {
        // One tile row (per-tensor): threads take row ranges and merge their partial maxima.
        std::mutex merge;
        parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
            std::vector<uint32_t> part(static_cast<size_t>(across), 0u);
            for (int64_t r = r0; r < r1; ++r) accumulate_row_amax<In>(w + r * t.cols, t, part.data());
            std::lock_guard<std::mutex> lock(merge);
            for (int64_t j = 0; j < across; ++j) bits[j] = std::max(bits[j], part[j]);
        });
    } else {
        // Threads take whole tile rows, so every tile has one writer.
        parallel_for(t.tiles_down(), t.tile_rows * t.cols, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b) {
                const int64_t r_end = std::min((b + 1) * t.tile_rows, t.rows);
                for (int64_t r = b * t.tile_rows; r < r_end; ++r)
                    accumulate_row_amax<In>(w + r * t.cols, t, bits.data() + b * across);
            }
        });
    }
    for (size_t i = 0; i < bits.size(); ++i) amax[i] = f32_from_bits(bits[i]);
}

template <class F, class In>
void encode(const typename In::Stored* w, const Fp8Tiling& t, const float* qscale, uint8_t* codes) {
    const int64_t across = t.tiles_across();
    parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            encode_row<F, In>(w + r * t.cols, t, qscale + (r / t.tile_rows) * across, codes + r * t.cols);
    });
}

template <class F>
void decode_rows(const uint8_t* codes, const Fp8Tiling& t, const float* scale, float* out,
                 int64_t r0, int64_t r1) {
    float table[256];
    for (int c = 0; c < 256; ++c) table[c] = fp8_decode<F>(static_cast<uint8_t>(c));
    const int64_t across = t.tiles_across();
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* in = codes + r * t.cols;
        float* row = out + r * t.cols;
        const float* sc = scale + (r / t.tile_rows) * across;
        for (int64_t c0 = 0, j = 0; c0 < t.cols; c0 += t.tile_cols, ++j) {
            const int64_t c1 = std::min(c0 + t.tile_cols, t.cols);
            const float d = sc[j];
            for (int64_t c = c0; c < c1; ++c) row[c] = table[in[c]] * d;
        }
    }
}

}  // namespace

void fp8_tile_amax_cpu(const float* w, const Fp8Tiling& t, float* amax) { tile_amax<F32Input>(w, t, amax); }

void fp8_encode_cpu(const float* w, const Fp8Tiling& t, const float* qscale, Fp8Format f,
                    uint8_t* codes) {
    with_fp8_format(f, [&](auto fmt) { encode<decltype(fmt), F32Input>(w, t, qscale, codes); });
}

void fp8_decode_cpu(const uint8_t* codes, const Fp8Tiling& t, const float* scale, Fp8Format f,
                    float* out) {
    with_fp8_format(f, [&](auto fmt) {
        using F = decltype(fmt);
        parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
            decode_rows<F>(codes, t, scale, out, r0, r1);
        });
    });
}

namespace {

// Row and block scaling: each tile row (a band of tile_rows rows) gets its amax, scales and
// codes while it is still in cache, so the weight streams from memory once, not twice.
template <class F, class In>
void quantize_by_bands(const typename In::Stored* w, const Fp8Tiling& t, Fp8ScaleRule rule, uint8_t* codes,
                       float* amax, float* stored) {
    const int64_t across = t.tiles_across();
    parallel_for(t.tiles_down(), t.tile_rows * t.cols, [&](int64_t b0, int64_t b1) {
        std::vector<uint32_t> bits(static_cast<size_t>(across));
        std::vector<float> qs(static_cast<size_t>(across));
        for (int64_t b = b0; b < b1; ++b) {
            const int64_t r0 = b * t.tile_rows, r1 = std::min(r0 + t.tile_rows, t.rows);
            std::fill(bits.begin(), bits.end(), 0u);
            for (int64_t r = r0; r < r1; ++r) accumulate_row_amax<In>(w + r * t.cols, t, bits.data());
            for (int64_t j = 0; j < across; ++j) {
                amax[b * across + j] = f32_from_bits(bits[j]);
                qs[j] = fp8_qscale(amax[b * across + j], F::kMax, rule);
                stored[b * across + j] = 1.0f / qs[j];
            }
            for (int64_t r = r0; r < r1; ++r) encode_row<F, In>(w + r * t.cols, t, qs.data(), codes + r * t.cols);
        }
    });
}

// Per-tensor scaling needs the whole weight's amax before any code: one pass for the maximum
// (over the stored bits, cheap), one to encode.
template <class F, class In>
Fp8NonFinite quantize(const typename In::Stored* w, const Fp8Tiling& t, Fp8Format f, Fp8ScaleRule rule,
                      uint8_t* codes, float* stored) {
    const size_t count = static_cast<size_t>(t.tile_count());
    std::vector<float> amax(count), qscale(count);
    const bool fused = t.tiles_down() > 1;
    if (fused)
        quantize_by_bands<F, In>(w, t, rule, codes, amax.data(), stored);
    else
        tile_amax<In>(w, t, amax.data());
    if (!std::all_of(amax.begin(), amax.end(), [](float a) { return std::isfinite(a); }))
        return scan_non_finite<In>(w, t.rows * t.cols);
    // Also decides the all-zero case, which overrides what the bands wrote.
    if (!fp8_scales_from_amax(amax.data(), static_cast<int64_t>(count), f, rule, qscale.data(), stored)) {
        std::memset(codes, 0, static_cast<size_t>(t.rows * t.cols));  // all zero (-0 too): codes 0
        return {};
    }
    if (!fused) encode<F, In>(w, t, qscale.data(), codes);
    return {};
}

}  // namespace

Fp8NonFinite fp8_quantize_cpu(const float* w, const Fp8Tiling& t, Fp8Format f, Fp8ScaleRule rule,
                              uint8_t* codes, float* stored) {
    return fp8_quantize_cpu(w, CTQ_DTYPE_F32, t, f, rule, codes, stored);
}

Fp8NonFinite fp8_quantize_cpu(const void* w, ctq_dtype w_dtype, const Fp8Tiling& t, Fp8Format f,
                              Fp8ScaleRule rule, uint8_t* codes, float* stored) {
    return with_weight_input(w_dtype, [&](auto in) {
        using In = decltype(in);
        return with_fp8_format(f, [&](auto fmt) {
            return quantize<decltype(fmt), In>(static_cast<const typename In::Stored*>(w), t, f, rule, codes, stored);
        });
    });
}

}  // namespace ctq::kern
