// The FP8 codec against independent definitions: decode against the formula of the format,
// encode against a brute-force nearest-code search (ties to the even code) in double precision.
#include <ctq/kernels/fp8_codec.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using ctq::kern::Fp8E4M3Fn;
using ctq::kern::Fp8E5M2;
using ctq::kern::fp8_decode;
using ctq::kern::fp8_encode;

namespace {

float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// The value of a code from the textbook definition, or NaN for NaN codes; +-Inf for e5m2 Inf.
template <class F>
double reference_value(int code) {
    const int m_bits = F::kMantBits, e_bits = 7 - m_bits;
    const int sign = code >> 7, e = (code >> m_bits) & ((1 << e_bits) - 1), m = code & ((1 << m_bits) - 1);
    const double s = sign ? -1.0 : 1.0;
    const int e_max = (1 << e_bits) - 1;
    if (F::kHasInf && e == e_max) return m == 0 ? s * INFINITY : NAN;
    if (!F::kHasInf && e == e_max && m == (1 << m_bits) - 1) return NAN;
    if (e == 0) return s * std::ldexp(double(m), 1 - F::kBias - m_bits);
    return s * std::ldexp(1.0 + double(m) / (1 << m_bits), e - F::kBias);
}

// Nearest non-negative code to |x| (|x| <= max) by searching all finite codes; ties go to the
// code with an even mantissa. The sign bit of x is then put on the code.
template <class F>
uint8_t brute_force_encode(float x) {
    const double a = std::fabs(double(x));
    int best = 0;
    double best_err = INFINITY;
    for (int c = 0; c < 128; ++c) {
        const double v = reference_value<F>(c);
        if (!std::isfinite(v)) continue;
        const double err = std::fabs(v - a);
        if (err < best_err || (err == best_err && (c & 1) == 0)) {
            best = c;
            best_err = err;
        }
    }
    return static_cast<uint8_t>(best | (std::signbit(x) ? 0x80 : 0));
}

template <class F>
bool is_nan_code(int c) {
    return std::isnan(reference_value<F>(c));
}

}  // namespace

TEST_CASE_TEMPLATE("fp8 decode: every code equals the format's definition", F, Fp8E4M3Fn, Fp8E5M2) {
    int nan_codes = 0;
    for (int c = 0; c < 256; ++c) {
        const double ref = reference_value<F>(c);
        const float got = fp8_decode<F>(static_cast<uint8_t>(c));
        CAPTURE(c);
        if (std::isnan(ref)) {
            ++nan_codes;
            CHECK(std::isnan(got));
            CHECK(ctq::kern::fp8_is_nan<F>(static_cast<uint8_t>(c)));
        } else {
            CHECK(bits(got) == bits(static_cast<float>(ref)));  // also tells +0 from -0
            CHECK_FALSE(ctq::kern::fp8_is_nan<F>(static_cast<uint8_t>(c)));
        }
    }
    CHECK(nan_codes == (F::kHasInf ? 6 : 2));
    CHECK(fp8_decode<F>(static_cast<uint8_t>(F::kMaxCode)) == F::kMax);
}

TEST_CASE_TEMPLATE("fp8 encode(decode(c)) == c for every finite code", F, Fp8E4M3Fn, Fp8E5M2) {
    for (int c = 0; c < 256; ++c) {
        const float v = fp8_decode<F>(static_cast<uint8_t>(c));
        if (!std::isfinite(v)) continue;
        CAPTURE(c);
        CHECK(int(fp8_encode<F>(v)) == c);
    }
}

TEST_CASE_TEMPLATE("fp8 encode: midpoints go to the even code, and one ulp off goes to the nearer",
                   F, Fp8E4M3Fn, Fp8E5M2) {
    for (int c = 0; c < int(F::kMaxCode); ++c) {
        for (int sign : {0, 0x80}) {
            const double lo = reference_value<F>(c | sign), hi = reference_value<F>((c + 1) | sign);
            const float mid = static_cast<float>((lo + hi) / 2);  // exact: few significant bits
            REQUIRE(double(mid) == (lo + hi) / 2);
            const int even = (c & 1) == 0 ? c : c + 1;
            CAPTURE(c);
            CAPTURE(sign);
            CHECK(int(fp8_encode<F>(mid)) == (even | sign));
            const float toward_lo = std::nextafter(mid, static_cast<float>(lo));
            const float toward_hi = std::nextafter(mid, static_cast<float>(hi));
            CHECK(int(fp8_encode<F>(toward_lo)) == (c | sign));
            CHECK(int(fp8_encode<F>(toward_hi)) == ((c + 1) | sign));
        }
    }
}

TEST_CASE("fp8 e4m3fn encode: subnormal boundaries, signed zero, saturation, NaN") {
    using F = Fp8E4M3Fn;
    const float unit = std::ldexp(1.0f, -9);  // smallest subnormal
    CHECK(fp8_encode<F>(0.0f) == 0x00);
    CHECK(fp8_encode<F>(-0.0f) == 0x80);
    CHECK(fp8_encode<F>(unit / 2) == 0x00);                    // tie to even (0)
    CHECK(fp8_encode<F>(-unit / 2) == 0x80);                   // negative rounding to zero keeps sign
    CHECK(fp8_encode<F>(std::nextafter(unit / 2, 1.0f)) == 0x01);
    CHECK(fp8_encode<F>(unit * 1.5f) == 0x02);                  // tie 1|2 -> even 2
    CHECK(fp8_encode<F>(unit * 7.5f) == 0x08);                  // tie 7|8: rounds up into the normals
    CHECK(fp8_encode<F>(std::ldexp(1.0f, -6)) == 0x08);         // smallest normal
    CHECK(fp8_encode<F>(std::nextafter(std::ldexp(1.0f, -6), 0.0f)) == 0x08);
    CHECK(fp8_encode<F>(std::numeric_limits<float>::denorm_min()) == 0x00);
    CHECK(fp8_encode<F>(-std::numeric_limits<float>::denorm_min()) == 0x80);
    CHECK(fp8_encode<F>(448.0f) == 0x7e);
    CHECK(fp8_encode<F>(-448.0f) == 0xfe);
    CHECK(fp8_encode<F>(432.0f) == 0x7e);                       // tie 416|448 -> even 448 (0x7e)
    CHECK(fp8_encode<F>(std::nextafter(432.0f, 0.0f)) == 0x7d);
    CHECK(fp8_encode<F>(464.0f) == 0x7e);                       // saturates (PyTorch: NaN)
    CHECK(fp8_encode<F>(1e30f) == 0x7e);
    CHECK(fp8_encode<F>(INFINITY) == 0x7e);
    CHECK(fp8_encode<F>(-INFINITY) == 0xfe);
    CHECK(fp8_encode<F>(NAN) == 0x7f);
    CHECK(fp8_encode<F>(-NAN) == 0x7f);  // canonical: NaN signs differ between CPU and GPU
    // What the reference computes: clamp(w * s, -448, 448) before the cast.
    const float just_above = std::nextafter(448.0f, 1000.0f);
    CHECK(ctq::kern::fp8_quantize_element<F>(just_above, 1.0f) == 0x7e);
    CHECK(ctq::kern::fp8_quantize_element<F>(-1.0f, 449.0f) == 0xfe);
    CHECK(ctq::kern::fp8_quantize_element<F>(-1e-30f, 1.0f) == 0x80);
}

TEST_CASE("fp8 e5m2 encode: subnormals, saturation, Inf and NaN") {
    using F = Fp8E5M2;
    const float unit = std::ldexp(1.0f, -16);
    CHECK(fp8_encode<F>(unit / 2) == 0x00);
    CHECK(fp8_encode<F>(std::nextafter(unit / 2, 1.0f)) == 0x01);
    CHECK(fp8_encode<F>(unit * 3.5f) == 0x04);  // tie 3|4 -> even 4 = smallest normal
    CHECK(fp8_encode<F>(57344.0f) == 0x7b);
    CHECK(fp8_encode<F>(61440.0f) == 0x7b);    // would round to Inf unsaturated
    CHECK(fp8_encode<F>(INFINITY) == 0x7b);
    CHECK(fp8_encode<F>(NAN) == 0x7f);
    CHECK(std::isinf(fp8_decode<F>(0x7c)));
    CHECK(std::isinf(fp8_decode<F>(0xfc)));
    CHECK(fp8_decode<F>(0xfc) < 0);
}

TEST_CASE_TEMPLATE("fp8 encode equals a brute-force nearest-code search", F, Fp8E4M3Fn, Fp8E5M2) {
    std::mt19937_64 rng(1234);
    std::vector<float> samples;
    // Every exponent the format can reach, with random mantissas and signs.
    const uint32_t lo_exp = 127 - F::kBias - F::kMantBits - 3, hi_exp = 127 + (F::kHasInf ? 16 : 8);
    std::uniform_int_distribution<uint32_t> exp(lo_exp, hi_exp), mant(0, 0x7fffff), sign(0, 1);
    for (int i = 0; i < 1500000; ++i)
        samples.push_back(from_bits((sign(rng) << 31) | (exp(rng) << 23) | mant(rng)));
    std::uniform_real_distribution<float> uniform(-F::kMax, F::kMax);
    for (int i = 0; i < 500000; ++i) samples.push_back(uniform(rng));
    // Each midpoint and its float neighbours, and the codes themselves.
    for (int c = 0; c < 128; ++c) {
        const double v = reference_value<F>(c), next = reference_value<F>(c + 1);
        if (!std::isfinite(v)) continue;
        for (float s : {1.0f, -1.0f}) {
            samples.push_back(s * float(v));
            if (!std::isfinite(next) || c >= int(F::kMaxCode)) continue;
            const float mid = s * float((v + next) / 2);
            samples.push_back(mid);
            samples.push_back(std::nextafter(mid, 0.0f));
            samples.push_back(std::nextafter(mid, s * INFINITY));
        }
    }
    int64_t checked = 0, mismatches = 0;
    for (float x : samples) {
        if (!(std::fabs(x) <= F::kMax)) continue;
        ++checked;
        const uint8_t got = fp8_encode<F>(x), want = brute_force_encode<F>(x);
        if (got != want && ++mismatches <= 5) {
            CAPTURE(x);
            CHECK(int(got) == int(want));
        }
    }
    CHECK(checked > 1000000);
    CHECK(mismatches == 0);
}
