// The FP8 CPU twins against the scalar codec: the SIMD span encoder over a sweep of the whole
// f32 line, the fused (band) quantization against amax + scales + encode done separately,
// decode, and the non-finite search.
#include <ctq/kernels/fp8.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

using namespace ctq::kern;

namespace {

std::vector<float> random_weight(int64_t rows, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (auto& x : w) x = normal(rng);
    for (size_t i = 0; i < w.size(); i += 61) w[i] *= 25.0f;
    for (size_t i = 3; i < w.size(); i += 89) w[i] = (i & 1) ? -0.0f : std::ldexp(1.0f, -130);
    return w;
}

}  // namespace

TEST_CASE_TEMPLATE("fp8 CPU encode equals the scalar codec across the f32 line", F, Fp8E4M3Fn, Fp8E5M2) {
    // Every 251st bit pattern (a prime stride reaches every residue of the mantissa), in rows
    // of 48 (32 lanes of AVX2 then 16 of SSE2, on a CPU with AVX2) and of 1017 (a scalar tail).
    const Fp8Format format = std::is_same<F, Fp8E5M2>::value ? Fp8Format::e5m2 : Fp8Format::e4m3fn;
    std::vector<float> x;
    for (uint64_t u = 0; u <= 0xffffffffull; u += 251) {
        const uint32_t b = static_cast<uint32_t>(u);
        float f;
        std::memcpy(&f, &b, 4);
        x.push_back(f);
    }
    // Plus every rounding tie of both formats' normal range and its neighbours: the stride
    // above meets only a few of them.
    for (uint32_t hi = 0; hi < (1u << 12); ++hi)
        for (uint32_t low : {0x7ffffu, 0x80000u, 0x80001u, 0xfffffu, 0x100000u}) {
            const uint32_t b = (hi << 20) | low;
            float f;
            std::memcpy(&f, &b, 4);
            x.push_back(f);
        }
    std::shuffle(x.begin(), x.end(), std::mt19937(8));  // spread them over every lane and tail
    for (const int64_t cols : {int64_t(48), int64_t(1017)}) {
        CAPTURE(cols);
        const int64_t rows = int64_t(x.size()) / cols;
        const Fp8Tiling t = Fp8Tiling::per_row(rows, cols);
        const std::vector<float> ones(static_cast<size_t>(rows), 1.0f);
        std::vector<uint8_t> codes(static_cast<size_t>(rows * cols));
        fp8_encode_cpu(x.data(), t, ones.data(), format, codes.data());
        int64_t mismatches = 0;
        for (int64_t i = 0; i < rows * cols; ++i) mismatches += codes[i] != fp8_encode<F>(x[i]);
        CHECK(rows * cols > 17000000);
        CHECK(mismatches == 0);
    }
}

TEST_CASE("fp8 CPU quantize (fused bands) equals amax, scales and encode done apart") {
    struct Case {
        int64_t rows, cols, tile_rows, tile_cols;
    };
    const Case cases[] = {{1, 1, 1, 1},       {300, 77, 1, 77},    {300, 77, 64, 64},
                          {257, 1000, 128, 128}, {1000, 257, 64, 64}, {64, 3000, 128, 128},
                          {2048, 512, 1, 512}};
    for (const Case& c : cases)
        for (Fp8Format f : {Fp8Format::e4m3fn, Fp8Format::e5m2}) {
            CAPTURE(c.rows);
            CAPTURE(c.cols);
            CAPTURE(c.tile_rows);
            const Fp8Tiling t{c.rows, c.cols, c.tile_rows, c.tile_cols};
            const auto w = random_weight(c.rows, c.cols, uint64_t(c.rows * 31 + c.cols));
            const size_t n = w.size(), tiles = static_cast<size_t>(t.tile_count());
            std::vector<uint8_t> fused(n), apart(n);
            std::vector<float> fused_scale(tiles), amax(tiles), qscale(tiles), apart_scale(tiles);
            CHECK(fp8_quantize_cpu(w.data(), t, f, Fp8ScaleRule::reciprocal_multiply, fused.data(),
                                   fused_scale.data()).count == 0);
            fp8_tile_amax_cpu(w.data(), t, amax.data());
            REQUIRE(fp8_scales_from_amax(amax.data(), int64_t(tiles), f, Fp8ScaleRule::reciprocal_multiply,
                                         qscale.data(), apart_scale.data()));
            fp8_encode_cpu(w.data(), t, qscale.data(), f, apart.data());
            CHECK(fused == apart);
            CHECK(std::memcmp(fused_scale.data(), apart_scale.data(), tiles * 4) == 0);

            std::vector<float> deq(n);
            fp8_decode_cpu(fused.data(), t, fused_scale.data(), f, deq.data());
            int64_t decode_mismatches = 0;
            for (int64_t r = 0; r < c.rows; ++r)
                for (int64_t col = 0; col < c.cols; ++col) {
                    const size_t i = static_cast<size_t>(r * c.cols + col);
                    const float d = fused_scale[t.tile_of(r, col)];
                    const float want = (f == Fp8Format::e5m2 ? fp8_decode<Fp8E5M2>(fused[i])
                                                             : fp8_decode<Fp8E4M3Fn>(fused[i])) * d;
                    decode_mismatches += std::memcmp(&want, &deq[i], 4) != 0;
                }
            CHECK(decode_mismatches == 0);
        }
}

TEST_CASE("fp8 CPU per-tile amax: partial tiles get their own, non-finite shows through") {
    const int64_t rows = 130, cols = 200;
    std::vector<float> w(rows * cols, 0.5f);
    w[129 * cols + 199] = -7.0f;  // the last, partial tile (rows 128..129, cols 192..199)
    w[0] = 3.0f;
    const Fp8Tiling t = Fp8Tiling::per_block(rows, cols, 64);
    REQUIRE(t.tile_count() == 12);
    std::vector<float> amax(12);
    fp8_tile_amax_cpu(w.data(), t, amax.data());
    CHECK(amax[0] == 3.0f);
    CHECK(amax[11] == 7.0f);
    for (int i = 1; i < 11; ++i) CHECK(amax[i] == 0.5f);
    w[65 * cols + 70] = std::numeric_limits<float>::quiet_NaN();
    fp8_tile_amax_cpu(w.data(), t, amax.data());
    CHECK(std::isnan(amax[1 * 4 + 1]));
    CHECK(std::isfinite(amax[0]));
    const Fp8NonFinite bad = fp8_find_nonfinite_cpu(w.data(), rows * cols);
    CHECK(bad.count == 1);
    CHECK(bad.first == 65 * cols + 70);
}
