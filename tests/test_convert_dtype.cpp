#include "core/error.hpp"
#include "io/convert_dtype.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace ctq;

namespace {

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

bool is_nan16(uint16_t h, bool bf16) {
    return bf16 ? (h & 0x7fff) > 0x7f80 : (h & 0x7fff) > 0x7c00;
}

// All 65536 half (or bfloat16) codes through F32 and back: every non-NaN code is reproduced bit
// for bit, NaNs stay NaN, and the widening matches a direct bit construction where one exists.
void exhaustive_round_trip(ctq_dtype dtype) {
    const bool bf16 = dtype == CTQ_DTYPE_BF16;
    std::vector<uint16_t> codes(65536);
    for (uint32_t i = 0; i < 65536; ++i) codes[i] = static_cast<uint16_t>(i);
    std::vector<float> wide(65536);
    to_f32(reinterpret_cast<const uint8_t*>(codes.data()), dtype, codes.size(), wide.data());
    std::vector<uint16_t> back(65536);
    from_f32(wide.data(), wide.size(), dtype, reinterpret_cast<uint8_t*>(back.data()));
    uint32_t mismatches = 0;
    for (uint32_t i = 0; i < 65536; ++i) {
        if (is_nan16(codes[i], bf16)) {
            mismatches += !std::isnan(wide[i]) || !is_nan16(back[i], bf16);
        } else {
            mismatches += back[i] != codes[i];
            if (bf16) mismatches += bits_of(wide[i]) != (i << 16);
        }
    }
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("F16 exhaustive round trip through F32") {
    exhaustive_round_trip(CTQ_DTYPE_F16);
    // Spot values whose F32 form is known exactly.
    const uint16_t h[] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000};
    float f[6];
    to_f32(reinterpret_cast<const uint8_t*>(h), CTQ_DTYPE_F16, 6, f);
    CHECK(f[0] == 1.0f);
    CHECK(f[1] == -2.0f);
    CHECK(f[2] == std::ldexp(1.0f, -24));
    CHECK(f[3] == 65504.0f);
    CHECK(std::isinf(f[4]));
    CHECK(bits_of(f[5]) == 0x80000000u);
}

TEST_CASE("BF16 exhaustive round trip through F32") { exhaustive_round_trip(CTQ_DTYPE_BF16); }

TEST_CASE("narrowing F32 to F16/BF16 rounds to nearest even") {
    // 1 + 2^-11 is halfway between two halves: ties to the even one (1.0); 1 + 3*2^-11 rounds up.
    const float src[] = {1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11), 70000.0f,
                         1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8)};
    uint16_t h[5];
    from_f32(src, 5, CTQ_DTYPE_F16, reinterpret_cast<uint8_t*>(h));
    CHECK(h[0] == 0x3c00);
    CHECK(h[1] == 0x3c02);
    CHECK(h[2] == 0x7c00);  // overflow to +Inf
    uint16_t b[5];
    from_f32(src, 5, CTQ_DTYPE_BF16, reinterpret_cast<uint8_t*>(b));
    CHECK(b[3] == 0x3f80);
    CHECK(b[4] == 0x3f82);
}

TEST_CASE("F64 narrows to F32 with IEEE rounding, from unaligned storage") {
    const double src[] = {1.0 + std::ldexp(1.0, -24), 1.0 + 3 * std::ldexp(1.0, -24), 1e300, -1e-50, 0.1};
    std::vector<uint8_t> unaligned(sizeof src + 1);
    std::memcpy(unaligned.data() + 1, src, sizeof src);
    float dst[5];
    to_f32(unaligned.data() + 1, CTQ_DTYPE_F64, 5, dst);
    CHECK(dst[0] == 1.0f);                                    // tie to even
    CHECK(dst[1] == 1.0f + std::ldexp(1.0f, -22));            // rounds up
    CHECK(std::isinf(dst[2]));
    CHECK(bits_of(dst[3]) == 0x80000000u);                    // underflows to -0
    CHECK(dst[4] == 0.1f);
}

TEST_CASE("F32 copies bits exactly, NaN payloads included") {
    const uint32_t src[] = {0x7fc01234u, 0xff800000u, 0x00000001u, 0x3f800000u};
    float dst[4];
    to_f32(reinterpret_cast<const uint8_t*>(src), CTQ_DTYPE_F32, 4, dst);
    for (int i = 0; i < 4; ++i) CHECK(bits_of(dst[i]) == src[i]);
    uint32_t back[4];
    from_f32(dst, 4, CTQ_DTYPE_F32, reinterpret_cast<uint8_t*>(back));
    CHECK(std::memcmp(back, src, sizeof src) == 0);
}

TEST_CASE("unsupported dtypes are refused") {
    uint8_t buf[16] = {};
    float f[2];
    CHECK_THROWS_WITH_AS(to_f32(buf, CTQ_DTYPE_I8, 2, f), "no conversion from I8 to F32", CtqError);
    CHECK_THROWS_WITH_AS(to_f32(buf, CTQ_DTYPE_F8_E4M3, 2, f), "no conversion from F8_E4M3 to F32", CtqError);
    CHECK_THROWS_WITH_AS(from_f32(f, 2, CTQ_DTYPE_F64, buf), "no conversion from F32 to F64", CtqError);
}

TEST_CASE("find_non_finite counts NaN and Inf and reports the first") {
    std::vector<float> v(1000, 1.5f);
    NonFinite none = find_non_finite(v.data(), v.size());
    CHECK(none.count == 0);
    CHECK(none.first_index == v.size());
    v[17] = std::numeric_limits<float>::infinity();
    v[400] = std::numeric_limits<float>::quiet_NaN();
    v[999] = -std::numeric_limits<float>::infinity();
    v[3] = std::numeric_limits<float>::max();  // finite
    const NonFinite r = find_non_finite(v.data(), v.size());
    CHECK(r.count == 3);
    CHECK(r.first_index == 17);
}
