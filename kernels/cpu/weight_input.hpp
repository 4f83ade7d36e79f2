// The stored element types a CPU twin reads its weight from: F32, BF16 and F16. Quantizing
// straight from the mapped 16-bit file spares a widened F32 copy of every weight (a write and a
// read of twice the file's size). One traits row per type; the twins template on it.
//
// Every trait gives the bits the F32 path would give: widening is exact, and the maximum of
// |x| is taken over the stored bits, whose order is the value order for non-negative numbers
// with Inf above every finite value and NaN above Inf (BF16 and F16 as in F32).
#pragma once

#include <ctq/ctq_plugin.h>
#include <ctq/kernels/half.hpp>
#include <ctq/kernels/non_finite.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CTQ_CPU_AVX2 1
#endif

namespace ctq::kern {

struct F32Input {
    using Stored = float;
    static float widen(float v) { return v; }
    // f32 bits of max |x|.
    static uint32_t abs_max_bits(const float* p, int64_t n) {
        uint32_t m = 0;
        for (int64_t i = 0; i < n; ++i) {
            uint32_t u;
            std::memcpy(&u, p + i, 4);
            u &= 0x7fffffffu;
            m = u > m ? u : m;
        }
        return m;
    }
};

// The 16-bit types share the max over |bits| (as int16: values <= 0x7fff, so SSE2's pmaxsw
// vectorises it) and differ in how those bits widen.
template <float (*Widen)(uint16_t)>
struct Half16Input {
    using Stored = uint16_t;
    static float widen(uint16_t v) { return Widen(v); }
    static uint32_t abs_max_bits(const uint16_t* p, int64_t n) {
        int16_t m = 0;
        for (int64_t i = 0; i < n; ++i) {
            const int16_t v = static_cast<int16_t>(p[i] & 0x7fffu);
            m = v > m ? v : m;
        }
        return f32_bits(Widen(static_cast<uint16_t>(m)));
    }
};

using Bf16Input = Half16Input<bf16_to_f32>;
using F16Input = Half16Input<f16_to_f32>;

#if defined(CTQ_CPU_AVX2)
__attribute__((target("avx,f16c"))) inline void f16_widen_f16c(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
inline bool cpu_has_f16c() {
    static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    return has;
}

// Eight weights as F32 lanes, read as stored: BF16 is the top half of an F32, and F16C widens
// F16 exactly. For the AVX2 bodies of the encoders (fp8_simd.hpp, int8_quant.cpp).
template <class In>
__attribute__((target("avx2,f16c"))) inline __m256 load8_avx2(const typename In::Stored* p) {
    if constexpr (std::is_same_v<In, F32Input>) {
        return _mm256_loadu_ps(p);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if constexpr (std::is_same_v<In, F16Input>) return _mm256_cvtph_ps(h);
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

// Every AVX2 CPU has F16C; both are checked all the same.
inline bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    return has;
}
#endif

// dst[i] = widen(src[i]) for i < n. F16C converts F16 exactly (IEEE half to single).
template <class In>
inline void widen_span(const typename In::Stored* src, int64_t n, float* dst) {
#if defined(CTQ_CPU_AVX2)
    if constexpr (std::is_same_v<In, F16Input>)
        if (cpu_has_f16c()) return f16_widen_f16c(src, n, dst);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = In::widen(src[i]);
}

// Calls fn(const float* x, offset, len) over [0, n) of src as F32: the span itself for F32,
// else widened piecewise into a buffer that stays in L1.
template <class In, class Fn>
inline void for_each_f32_piece(const typename In::Stored* src, int64_t n, Fn&& fn) {
    if constexpr (std::is_same_v<In, F32Input>) {
        fn(src, int64_t(0), n);
    } else {
        constexpr int64_t kPiece = 1024;
        alignas(64) float buf[kPiece];
        for (int64_t i = 0; i < n; i += kPiece) {
            const int64_t len = std::min(kPiece, n - i);
            widen_span<In>(src + i, len, buf);
            fn(static_cast<const float*>(buf), i, len);
        }
    }
}

// Calls fn(In{}) with the traits of a stored dtype; std::invalid_argument for any other.
template <class Fn>
decltype(auto) with_weight_input(ctq_dtype dtype, Fn&& fn) {
    switch (dtype) {
        case CTQ_DTYPE_F32: return fn(F32Input{});
        case CTQ_DTYPE_BF16: return fn(Bf16Input{});
        case CTQ_DTYPE_F16: return fn(F16Input{});
        default: break;
    }
    throw std::invalid_argument("weights are read as F32, BF16 or F16, not dtype " + std::to_string(dtype));
}

// NaN and Inf among n stored elements: count and first index (only run to name a refusal).
template <class In>
NonFiniteCount scan_non_finite(const typename In::Stored* w, int64_t n) {
    NonFiniteCount total;
    std::mutex mu;
    parallel_for(n, 1, [&](int64_t b, int64_t e) {
        NonFiniteCount part;
        for (int64_t i = b; i < e; ++i) {
            if (std::isfinite(In::widen(w[i]))) continue;
            if (part.count++ == 0) part.first = i;
        }
        if (part.count == 0) return;
        std::lock_guard<std::mutex> lock(mu);
        total.first = total.count == 0 ? part.first : std::min(total.first, part.first);
        total.count += part.count;
    });
    return total;
}

}  // namespace ctq::kern
