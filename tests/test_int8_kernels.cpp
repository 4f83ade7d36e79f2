// INT8 quantization kernels (CPU twins) and the ConvRot Hadamard rotation.
#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/int8.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

using namespace ctq::kern;

namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return v;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

struct Quantized {
    std::vector<int8_t> q;
    std::vector<float> stored;
};

Quantized quantize(Int8Mode mode, const std::vector<float>& w, int64_t rows, int64_t cols,
                   int64_t bs = 0) {
    const Int8Tiling t = int8_tiling(mode, rows, cols, bs);
    Quantized r{std::vector<int8_t>(w.size()), std::vector<float>(static_cast<size_t>(t.count()))};
    REQUIRE(int8_quantize_cpu(mode, w.data(), t, r.q.data(), r.stored.data()).count == 0);
    return r;
}

// Dense H_G in double: Kronecker powers of the regular H4, divided by sqrt(G).
std::vector<double> dense_hadamard(int64_t g) {
    const double h4[4][4] = {{1, 1, 1, -1}, {1, 1, -1, 1}, {1, -1, 1, 1}, {-1, 1, 1, 1}};
    std::vector<double> h{1.0};
    for (int64_t n = 1; n < g; n *= 4) {
        std::vector<double> next(static_cast<size_t>(16 * n * n));
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j)
                for (int a = 0; a < 4; ++a)
                    for (int b = 0; b < 4; ++b)
                        next[(i * 4 + a) * (4 * n) + j * 4 + b] = h[i * n + j] * h4[a][b];
        h.swap(next);
    }
    for (double& x : h) x /= std::sqrt(static_cast<double>(g));
    return h;
}

}  // namespace

TEST_CASE("int8 scale op order matches the reference") {
    // row: fl(fl(1/amax) * 127), stored fl(1/s)
    const float amax = 0.7391f;
    const Int8TileScale row = int8_tile_scale(Int8Mode::Row, amax);
    const float s = (1.0f / amax) * 127.0f;
    CHECK(bits(row.apply) == bits(s));
    CHECK(bits(row.stored) == bits(1.0f / s));
    // tensor: d = amax / 127 (one division), codes use fl(1/d)
    const Int8TileScale ten = int8_tile_scale(Int8Mode::Tensor, amax);
    CHECK(bits(ten.stored) == bits(amax / 127.0f));
    CHECK(bits(ten.apply) == bits(1.0f / (amax / 127.0f)));
    // block: d = max(amax / 127, 1e-8), divides
    CHECK(bits(int8_tile_scale(Int8Mode::Block, amax).stored) == bits(amax / 127.0f));
    CHECK(int8_tile_scale(Int8Mode::Block, 0.f).stored == 1e-8f);
    CHECK(int8_tile_scale(Int8Mode::Row, 0.f).apply == (1.0f / 1e-12f) * 127.0f);
    // the two op orders really differ somewhere, so the choice is tested
    int differ = 0;
    for (float a = 0.01f; a < 10.f; a *= 1.01f)
        differ += bits(int8_tile_scale(Int8Mode::Row, a).stored) !=
                  bits(int8_tile_scale(Int8Mode::Tensor, a).stored);
    CHECK(differ > 0);
}

TEST_CASE("int8 codes: half to even, clamp, no -128") {
    CHECK(int8_encode(Int8Mode::Row, 2.5f, 1.f) == 2);
    CHECK(int8_encode(Int8Mode::Row, 3.5f, 1.f) == 4);
    CHECK(int8_encode(Int8Mode::Row, -2.5f, 1.f) == -2);
    CHECK(int8_encode(Int8Mode::Block, -1000.f, 1.f) == -127);
    CHECK(int8_encode(Int8Mode::Block, 1000.f, 1.f) == 127);
}

TEST_CASE("all-zero weight: codes 0, scale 1 in every mode") {
    const std::vector<float> zero(130 * 200, 0.f);
    for (Int8Mode mode : {Int8Mode::Tensor, Int8Mode::Row, Int8Mode::Block}) {
        const Quantized r = quantize(mode, zero, 130, 200, 64);
        for (int8_t q : r.q) REQUIRE(q == 0);
        for (float s : r.stored) REQUIRE(s == 1.f);
    }
}

TEST_CASE("a zero row or tile inside a non-zero weight keeps the reference's epsilon") {
    std::vector<float> w = gaussian(128 * 128, 1);
    for (int64_t r = 0; r < 64; ++r)
        for (int64_t c = 0; c < 64; ++c) w[r * 128 + c] = 0.f;
    const Quantized b = quantize(Int8Mode::Block, w, 128, 128, 64);
    CHECK(b.stored[0] == 1e-8f);
    for (int64_t c = 0; c < 128; ++c) w[5 * 128 + c] = 0.f;
    const Quantized r = quantize(Int8Mode::Row, w, 128, 128);
    CHECK(r.stored[5] == 1.0f / ((1.0f / 1e-12f) * 127.0f));
}

TEST_CASE("partial tiles get their own scale and every tile reaches +-127") {
    const int64_t rows = 130, cols = 200, bs = 64;
    std::vector<float> w = gaussian(rows * cols, 2);
    w[129 * cols + 199] = 40.f;  // an outlier alone in the last (2 x 8) partial tile
    const Quantized r = quantize(Int8Mode::Block, w, rows, cols, bs);
    const Int8Tiling t = int8_tiling(Int8Mode::Block, rows, cols, bs);
    REQUIRE(t.grid_rows() == 3);
    REQUIRE(t.grid_cols() == 4);
    CHECK(r.stored[11] == 40.f / 127.f);
    std::vector<int> peak(12, 0);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            const int64_t k = t.tile_of(i, j);
            peak[k] = std::max(peak[k], std::abs(int{r.q[i * cols + j]}));
            // round to nearest: the error is at most half a step (plus the division's rounding)
            const float err = std::fabs(int8_decode(r.q[i * cols + j], r.stored[k]) - w[i * cols + j]);
            REQUIRE(err <= 0.5f * r.stored[k] * (1.f + 1e-5f));
        }
    for (int p : peak) CHECK(p == 127);
}

TEST_CASE("non-finite scan counts and finds the first") {
    std::vector<float> w(100, 1.f);
    w[37] = std::numeric_limits<float>::quiet_NaN();
    w[80] = std::numeric_limits<float>::infinity();
    const Int8NonFinite r = int8_scan_non_finite_cpu(w.data(), 100);
    CHECK(r.count == 2);
    CHECK(r.first == 37);
    std::vector<int8_t> q(100);
    std::vector<float> s(1, -5.f);
    CHECK(int8_quantize_cpu(Int8Mode::Tensor, w.data(), int8_tiling(Int8Mode::Tensor, 10, 10, 0),
                            q.data(), s.data()).count == 2);
    CHECK(s[0] == -5.f);  // nothing written
}

TEST_CASE("decode is code times stored scale") {
    const std::vector<float> w = gaussian(64 * 96, 3);
    const Int8Tiling t = int8_tiling(Int8Mode::Row, 64, 96, 0);
    const Quantized r = quantize(Int8Mode::Row, w, 64, 96);
    std::vector<float> back(w.size());
    int8_decode_cpu(r.q.data(), t, r.stored.data(), back.data());
    for (size_t i = 0; i < w.size(); ++i) REQUIRE(bits(back[i]) == bits(float(r.q[i]) * r.stored[i / 96]));
}

TEST_CASE("dynamic ConvRot group sizes (REFERENCE 5.10)") {
    CHECK(dynamic_convrot_group(4096, 256) == 4096);
    CHECK(dynamic_convrot_group(3072, 256) == 1024);
    CHECK(dynamic_convrot_group(1152, 256) == 0);
    CHECK(dynamic_convrot_group(512, 256) == 256);
    CHECK(dynamic_convrot_group(64, 256) == 0);
    CHECK(dynamic_convrot_group(12288, 16) == 4096);
    CHECK(is_power_of_4(1024));
    CHECK_FALSE(is_power_of_4(512));
    CHECK_FALSE(is_power_of_4(0));
}

TEST_CASE("fast rotation equals the dense Kronecker Hadamard and is its own inverse") {
    for (int64_t g : {4, 16, 64, 256, 1024}) {
        const int64_t rows = 3, cols = 2 * g;
        const std::vector<float> w = gaussian(rows * cols, static_cast<uint32_t>(g));
        std::vector<float> rot = w;
        hadamard_rotate_rows_cpu(rot.data(), rows, cols, g);
        const std::vector<double> h = dense_hadamard(g);
        double num = 0, den = 0;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t grp = 0; grp < cols / g; ++grp)
                for (int64_t i = 0; i < g; ++i) {
                    double ref = 0;  // (W H^T)_i = sum_j w_j H[i][j]
                    for (int64_t j = 0; j < g; ++j) ref += h[i * g + j] * w[r * cols + grp * g + j];
                    const double d = rot[r * cols + grp * g + i] - ref;
                    num += d * d;
                    den += ref * ref;
                }
        CHECK(std::sqrt(num / den) < 1e-6);
        std::vector<float> back = rot;
        hadamard_rotate_rows_cpu(back.data(), rows, cols, g);
        num = den = 0;
        for (size_t i = 0; i < w.size(); ++i) {
            num += double(back[i] - w[i]) * (back[i] - w[i]);
            den += double(w[i]) * w[i];
        }
        CHECK(std::sqrt(num / den) < 1e-6);
    }
}

TEST_CASE("rotating both sides keeps X W^T") {
    const int64_t tokens = 5, n = 7, k = 512, g = 256;
    std::vector<float> x = gaussian(tokens * k, 11), w = gaussian(n * k, 12);
    std::vector<float> xr = x, wr = w;
    hadamard_rotate_rows_cpu(xr.data(), tokens, k, g);
    hadamard_rotate_rows_cpu(wr.data(), n, k, g);
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t o = 0; o < n; ++o) {
            double a = 0, b = 0, mag = 0;
            for (int64_t i = 0; i < k; ++i) {
                a += double(x[t * k + i]) * w[o * k + i];
                b += double(xr[t * k + i]) * wr[o * k + i];
                mag += std::fabs(double(x[t * k + i]) * w[o * k + i]);
            }
            CHECK(std::fabs(a - b) <= 1e-6 * mag);
        }
}

TEST_CASE("rotation rejects groups that are not powers of 4 or do not divide") {
    std::vector<float> w(3 * 96, 1.f);
    CHECK_THROWS_AS(hadamard_rotate_rows_cpu(w.data(), 3, 96, 32), std::invalid_argument);
    CHECK_THROWS_AS(hadamard_rotate_rows_cpu(w.data(), 3, 96, 64), std::invalid_argument);
    CHECK_NOTHROW(hadamard_rotate_rows_cpu(w.data(), 3, 96, 16));
}
