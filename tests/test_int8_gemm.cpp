// INT8 block GEMM CPU twin against a double-precision reference built from the same codes.
#include <ctq/kernels/int8.hpp>
#include <ctq/kernels/int8_gemm.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

using namespace ctq::kern;

namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return v;
}

struct Case {
    int64_t tokens, n, k, bs;
};

void check_case(const Case& c, bool with_bias) {
    CAPTURE(c.tokens);
    CAPTURE(c.n);
    CAPTURE(c.k);
    CAPTURE(c.bs);
    const Int8LinearShape s{c.tokens, c.k, c.n, c.bs};
    std::vector<float> x = gaussian(c.tokens * c.k, 1), w = gaussian(c.n * c.k, 2), bias = gaussian(c.n, 3);
    if (c.k > c.bs)  // one all-zero activation block: scale 0, codes 0
        for (int64_t k = 0; k < c.bs; ++k) x[k] = 0.f;
    const Int8Tiling t = int8_tiling(Int8Mode::Block, c.n, c.k, c.bs);
    std::vector<int8_t> wq(w.size());
    std::vector<float> ws(static_cast<size_t>(t.count()));
    REQUIRE(int8_quantize_cpu(Int8Mode::Block, w.data(), t, wq.data(), ws.data()).count == 0);

    std::vector<float> y(static_cast<size_t>(c.tokens * c.n));
    int8_block_linear_cpu(x.data(), wq.data(), ws.data(), with_bias ? bias.data() : nullptr, s, y.data());

    std::vector<int8_t> xq(x.size());
    std::vector<float> xs(static_cast<size_t>(c.tokens * s.k_blocks()));
    int8_quantize_activations_cpu(x.data(), s, xq.data(), xs.data());
    const int64_t nkb = s.k_blocks();
    double worst_rel_to_float = 0;
    for (int64_t tk = 0; tk < c.tokens; ++tk)
        for (int64_t n = 0; n < c.n; ++n) {
            // dequantize both operands and multiply in double
            double ref = with_bias ? bias[n] : 0.0, mag = with_bias ? std::fabs(bias[n]) : 0.0;
            double exact = ref;
            for (int64_t k = 0; k < c.k; ++k) {
                const int64_t kb = k / c.bs;
                const double term = double(xq[tk * c.k + k]) * xs[tk * nkb + kb] *
                                    (double(wq[n * c.k + k]) * ws[(n / c.bs) * nkb + kb]);
                ref += term;
                mag += std::fabs(term);
                exact += double(x[tk * c.k + k]) * w[n * c.k + k];
            }
            // (nkb + 3) float roundings along the chain, each at most 2^-24 of the magnitude
            const double tol = (nkb + 3) * std::ldexp(1.0, -23) * mag + 1e-30;
            REQUIRE(std::fabs(y[tk * c.n + n] - ref) <= tol);
            worst_rel_to_float = std::max(worst_rel_to_float,
                                          std::fabs(y[tk * c.n + n] - exact) / std::sqrt(double(c.k)));
        }
    // Sanity: int8 x int8 with per-block scales stays close to the float product (|x|,|w| ~ 1:
    // the output error is ~ sqrt(K) * 1% of one term).
    CHECK(worst_rel_to_float < 0.05);
}

}  // namespace

TEST_CASE("int8 block linear equals the dequantized product up to float rounding") {
    for (const Case& c : {Case{7, 130, 200, 64}, Case{4, 64, 256, 128}, Case{3, 5, 9, 1},
                          Case{5, 33, 70, 3}, Case{1, 1, 1, 128}, Case{9, 100, 300, 48}})
        for (bool bias : {false, true}) check_case(c, bias);
}

TEST_CASE("activation blocks: amax / 127, half to even, zero block gets scale 0") {
    const Int8LinearShape s{1, 6, 1, 3};
    const float x[6] = {1.f, -0.5f, 127.f / 254.f * 1.f, 0.f, 0.f, 0.f};
    int8_t q[6];
    float d[2];
    int8_quantize_activations_cpu(x, s, q, d);
    CHECK(d[0] == 1.f / 127.f);
    CHECK(q[0] == 127);
    CHECK(q[1] == int8_t(std::nearbyint(-0.5f / (1.f / 127.f))));
    CHECK(d[1] == 0.f);
    CHECK(q[3] == 0);
    CHECK(q[5] == 0);
}

TEST_CASE("int8 block linear rejects bad shapes") {
    float x = 0, y = 0, ws = 1;
    int8_t w = 0;
    CHECK_THROWS_AS(int8_block_linear_cpu(&x, &w, &ws, nullptr, Int8LinearShape{1, 1, 1, 0}, &y),
                    std::invalid_argument);
    CHECK_THROWS_AS(int8_block_linear_cpu(&x, &w, &ws, nullptr, Int8LinearShape{1, 0, 1, 4}, &y),
                    std::invalid_argument);
}
