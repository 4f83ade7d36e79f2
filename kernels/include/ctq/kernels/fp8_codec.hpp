// Exact float32 <-> FP8 (e4m3fn, e5m2) conversions, one definition for the CPU and CUDA.
//
// encode: round to nearest, ties to even, on the sign-magnitude value; the sign bit is always
// kept, so a negative value that rounds to zero gives 0x80 (as PyTorch's cast does). Finite
// values at or beyond the format's largest magnitude and +-Inf saturate to +-max: the same code
// as the reference's clamp(v, -max, max) followed by the cast. Every NaN gives
// the canonical NaN code 0x7f: IEEE leaves the sign of a NaN produced by w * qscale open (x86
// keeps it, CUDA returns 0x7fffffff), so a signed NaN code would differ between CPU and GPU.
// decode: every one of the 256 codes, NaN codes as quiet NaN, e5m2's 0x7c / 0xfc as +-Inf.
#pragma once

#include <ctq/kernels/half.hpp>
#include <ctq/kernels/hd.hpp>

#include <cstdint>

namespace ctq::kern {

// Facts of one FP8 format; everything the codec needs is derived from these.
struct Fp8E4M3Fn {
    static constexpr int kMantBits = 3;
    static constexpr int kBias = 7;
    static constexpr bool kHasInf = false;         // e4m3fn: no Inf, only 0x7f/0xff are NaN
    static constexpr uint32_t kMaxCode = 0x7e;      // 448
    static constexpr float kMax = 448.0f;
};

struct Fp8E5M2 {
    static constexpr int kMantBits = 2;
    static constexpr int kBias = 15;
    static constexpr bool kHasInf = true;          // IEEE-like: exponent 31 is Inf / NaN
    static constexpr uint32_t kMaxCode = 0x7b;      // 57344
    static constexpr float kMax = 57344.0f;
};

template <class F>
struct Fp8Derived {
    static constexpr int kShift = 23 - F::kMantBits;                  // f32 mantissa bits dropped
    static constexpr uint32_t kRebias = uint32_t(127 - F::kBias) << 23;
    static constexpr uint32_t kMinNormalBits = uint32_t(127 + 1 - F::kBias) << 23;
    static constexpr uint32_t kMaxBits = (F::kMaxCode << kShift) + kRebias;
    // Adding 2^(24 - bias - mant) to a value below the smallest normal puts the FP8 subnormal
    // quantum exactly at the f32 ulp, so the FPU's own round-to-nearest-even does the rounding.
    static constexpr uint32_t kSubnormalMagicBits = uint32_t(127 + 24 - F::kBias - F::kMantBits) << 23;
    static constexpr uint32_t kNanCode = 0x7f;
};

template <class F>
CTQ_HD uint8_t fp8_encode(float x) {
    using D = Fp8Derived<F>;
    const uint32_t u = f32_bits(x);
    const uint32_t sign = (u >> 24) & 0x80u;
    const uint32_t a = u & 0x7fffffffu;
    // Normal range: rebias the exponent, round the mantissa half to even; a carry out of the
    // mantissa correctly bumps the exponent.
    uint32_t normal = a - D::kRebias;
    normal = (normal + ((1u << (D::kShift - 1)) - 1u) + ((normal >> D::kShift) & 1u)) >> D::kShift;
    const float magic = f32_from_bits(D::kSubnormalMagicBits);
#if defined(__CUDA_ARCH__)
    const float sum = __fadd_rn(f32_from_bits(a), magic);
#else
    const float sum = f32_from_bits(a) + magic;
#endif
    const uint32_t subnormal = f32_bits(sum) - D::kSubnormalMagicBits;
    // Selects through masks, not ?:, so compilers keep the loop branch-free (and vectorise it)
    // instead of moving the float add into a branch.
    // (signed compares: a < 2^31, and SSE2 has no unsigned 32-bit compare)
    const int32_t sa = static_cast<int32_t>(a);
    const uint32_t is_subnormal = 0u - uint32_t(sa < int32_t(D::kMinNormalBits));
    const uint32_t is_big = 0u - uint32_t(sa >= int32_t(D::kMaxBits));
    const uint32_t is_nan = 0u - uint32_t(sa > int32_t(0x7f800000));
    uint32_t code = (subnormal & is_subnormal) | (normal & ~is_subnormal);
    code = (F::kMaxCode & is_big) | (code & ~is_big);
    code = (D::kNanCode & is_nan) | ((sign | code) & ~is_nan);
    return static_cast<uint8_t>(code);
}

template <class F>
CTQ_HD bool fp8_is_nan(uint8_t c) {
    const uint32_t em = c & 0x7fu;
    if (F::kHasInf) return (em >> F::kMantBits) == (0x7fu >> F::kMantBits) && (em & ((1u << F::kMantBits) - 1u)) != 0;
    return em == 0x7fu;
}

template <class F>
CTQ_HD float fp8_decode(uint8_t c) {
    using D = Fp8Derived<F>;
    const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
    const uint32_t em = c & 0x7fu;
    const uint32_t exp = em >> F::kMantBits;
    const uint32_t mant = em & ((1u << F::kMantBits) - 1u);
    if (fp8_is_nan<F>(c)) return f32_from_bits(sign | 0x7fc00000u);
    if (F::kHasInf && em == (0x7fu & ~((1u << F::kMantBits) - 1u))) return f32_from_bits(sign | 0x7f800000u);
    if (exp == 0) {
        // Subnormal: mant * 2^(1 - bias - mant_bits), exact in f32.
        const float unit = f32_from_bits(uint32_t(127 + 1 - F::kBias - F::kMantBits) << 23);
        return f32_from_bits(sign | f32_bits(static_cast<float>(mant) * unit));
    }
    return f32_from_bits(sign | ((em << D::kShift) + D::kRebias));
}

// The reference's round-to-nearest code of one weight element, e4m3(RNE(clamp(w * qscale,
// -max, max))). encode saturates exactly as that clamp does (NaN included), so no separate
// clamp: one would also make GCC branch on it and stop vectorising the loop.
template <class F>
CTQ_HD uint8_t fp8_quantize_element(float w, float qscale) {
#if defined(__CUDA_ARCH__)
    return fp8_encode<F>(__fmul_rn(w, qscale));
#else
    return fp8_encode<F>(w * qscale);
#endif
}

}  // namespace ctq::kern
