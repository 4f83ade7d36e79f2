// The CPU twins' inner loop: one scale times a contiguous span of floats, encoded to FP8. On
// x86-64 this is the codec of fp8_codec.hpp written out in AVX2 when the CPU has it, else SSE2
// (GCC's own vectorisation of the scalar codec packs to bytes too early and runs 1.7x slower
// than the SSE2 version); elsewhere the scalar codec. All give the same bits, which
// tests/test_fp8_cpu_kernels.cpp checks across the whole f32 line. The AVX2 body also reads
// BF16/F16 spans as stored (tests/test_stored_input.cpp: every 16-bit code).
#pragma once

#include "weight_input.hpp"

#include <ctq/kernels/fp8_codec.hpp>

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CTQ_FP8_AVX2 1
#endif

namespace ctq::kern {

#if defined(__SSE2__)
// fp8_encode<F> on four lanes, result in the low byte of each 32-bit lane.
template <class F>
inline __m128i fp8_encode_sse2(__m128 y) {
    using D = Fp8Derived<F>;
    const auto splat = [](uint32_t v) { return _mm_set1_epi32(static_cast<int32_t>(v)); };
    const __m128i u = _mm_castps_si128(y);
    const __m128i a = _mm_and_si128(u, splat(0x7fffffffu));
    const __m128i sign = _mm_and_si128(_mm_srli_epi32(u, 24), splat(0x80u));
    const __m128i odd = _mm_and_si128(_mm_srli_epi32(a, D::kShift), splat(1u));
    const __m128i round = splat((1u << (D::kShift - 1)) - 1u - D::kRebias);
    const __m128i normal = _mm_srli_epi32(_mm_add_epi32(_mm_add_epi32(a, round), odd), D::kShift);
    const __m128 magic = _mm_castsi128_ps(splat(D::kSubnormalMagicBits));
    const __m128i subnormal = _mm_sub_epi32(_mm_castps_si128(_mm_add_ps(_mm_castsi128_ps(a), magic)),
                                            splat(D::kSubnormalMagicBits));
    // Signed compares are exact here: a < 2^31.
    const __m128i is_subnormal = _mm_cmplt_epi32(a, splat(D::kMinNormalBits));
    const __m128i is_big = _mm_cmpgt_epi32(a, splat(D::kMaxBits - 1u));
    const __m128i is_nan = _mm_cmpgt_epi32(a, splat(0x7f800000u));
    __m128i code = _mm_or_si128(_mm_and_si128(is_subnormal, subnormal), _mm_andnot_si128(is_subnormal, normal));
    code = _mm_or_si128(_mm_and_si128(is_big, splat(F::kMaxCode)), _mm_andnot_si128(is_big, code));
    code = _mm_or_si128(code, sign);
    return _mm_or_si128(_mm_and_si128(is_nan, splat(D::kNanCode)), _mm_andnot_si128(is_nan, code));
}
#endif

#if defined(CTQ_FP8_AVX2)
__attribute__((target("avx2"))) inline __m256i splat_avx2(uint32_t v) {
    return _mm256_set1_epi32(static_cast<int32_t>(v));
}

// The same on eight lanes.
template <class F>
__attribute__((target("avx2"))) inline __m256i fp8_encode_avx2(__m256 y) {
    using D = Fp8Derived<F>;
    const auto splat = splat_avx2;
    const __m256i u = _mm256_castps_si256(y);
    const __m256i a = _mm256_and_si256(u, splat(0x7fffffffu));
    const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 24), splat(0x80u));
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(a, D::kShift), splat(1u));
    const __m256i round = splat((1u << (D::kShift - 1)) - 1u - D::kRebias);
    const __m256i normal = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(a, round), odd), D::kShift);
    const __m256 magic = _mm256_castsi256_ps(splat(D::kSubnormalMagicBits));
    const __m256i subnormal = _mm256_sub_epi32(
        _mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(a), magic)), splat(D::kSubnormalMagicBits));
    const __m256i is_subnormal = _mm256_cmpgt_epi32(splat(D::kMinNormalBits), a);
    const __m256i is_big = _mm256_cmpgt_epi32(a, splat(D::kMaxBits - 1u));
    const __m256i is_nan = _mm256_cmpgt_epi32(a, splat(0x7f800000u));
    __m256i code = _mm256_blendv_epi8(normal, subnormal, is_subnormal);
    code = _mm256_or_si256(_mm256_blendv_epi8(code, splat(F::kMaxCode), is_big), sign);
    return _mm256_blendv_epi8(code, splat(D::kNanCode), is_nan);
}

template <class F, class In>
__attribute__((target("avx2,f16c"))) int64_t fp8_encode_span_avx2(const typename In::Stored* w, float qscale,
                                                                   uint8_t* out, int64_t n) {
    const __m256 s = _mm256_set1_ps(qscale);
    // packs/packus work within 128-bit halves; this puts the 32 bytes back in order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    // The encoder spends ~100 instructions per 32 elements, so few loads are in flight and the
    // stream from memory stalls it (most of its time, on 16-bit input); prefetching a few KB
    // ahead keeps the lines coming.
    constexpr int64_t kStep = 32 * sizeof(*w), kAhead = 4096;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int64_t b = 0; b < kStep; b += 64)
            _mm_prefetch(reinterpret_cast<const char*>(w + i) + kAhead + b, _MM_HINT_T0);
        const __m256i c0 = fp8_encode_avx2<F>(_mm256_mul_ps(load8_avx2<In>(w + i), s));
        const __m256i c1 = fp8_encode_avx2<F>(_mm256_mul_ps(load8_avx2<In>(w + i + 8), s));
        const __m256i c2 = fp8_encode_avx2<F>(_mm256_mul_ps(load8_avx2<In>(w + i + 16), s));
        const __m256i c3 = fp8_encode_avx2<F>(_mm256_mul_ps(load8_avx2<In>(w + i + 24), s));
        const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permutevar8x32_epi32(bytes, order));
    }
    return i;
}

#endif

// out[i] = fp8_quantize_element<F>(w[i], qscale) for i < n.
template <class F>
inline void fp8_encode_span(const float* w, float qscale, uint8_t* out, int64_t n) {
    int64_t i = 0;
#if defined(CTQ_FP8_AVX2)
    if (cpu_has_avx2()) i = fp8_encode_span_avx2<F, F32Input>(w, qscale, out, n);
#endif
#if defined(__SSE2__)
    const __m128 s = _mm_set1_ps(qscale);
    for (; i + 16 <= n; i += 16) {  // the SSE2 body also finishes what AVX2 left
        const __m128i c0 = fp8_encode_sse2<F>(_mm_mul_ps(_mm_loadu_ps(w + i), s));
        const __m128i c1 = fp8_encode_sse2<F>(_mm_mul_ps(_mm_loadu_ps(w + i + 4), s));
        const __m128i c2 = fp8_encode_sse2<F>(_mm_mul_ps(_mm_loadu_ps(w + i + 8), s));
        const __m128i c3 = fp8_encode_sse2<F>(_mm_mul_ps(_mm_loadu_ps(w + i + 12), s));
        // Codes are 0..255, so the saturating packs are plain narrowing.
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm_packus_epi16(_mm_packs_epi32(c0, c1), _mm_packs_epi32(c2, c3)));
    }
#endif
    for (; i < n; ++i) out[i] = fp8_quantize_element<F>(w[i], qscale);
}

// The same from a span of the weight as stored: AVX2 reads BF16/F16 directly, whatever it
// leaves goes through F32 pieces.
template <class F, class In>
inline void fp8_encode_stored_span(const typename In::Stored* w, float qscale, uint8_t* out, int64_t n) {
    int64_t i = 0;
#if defined(CTQ_FP8_AVX2)
    if (cpu_has_avx2()) i = fp8_encode_span_avx2<F, In>(w, qscale, out, n);
#endif
    for_each_f32_piece<In>(w + i, n - i, [&](const float* x, int64_t at, int64_t len) {
        fp8_encode_span<F>(x, qscale, out + i + at, len);
    });
}

}  // namespace ctq::kern
