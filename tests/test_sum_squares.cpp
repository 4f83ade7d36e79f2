// The sum-of-squares CPU twin (kernels/cpu/sum_squares.cpp): exact where every partial sum is
// representable, and otherwise within the rounding error its order allows of a long-double sum.
#include <ctq/kernels/sum_squares.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace ctq;

namespace {

std::vector<float> normal_floats(int64_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(rng);
    return x;
}

}  // namespace

TEST_CASE("sum of squares: small integers give the exact sum, whatever the lane a quad lands in") {
    // Past one quad per lane, so lanes hold several quads and the trees add non-zero lanes.
    for (const int64_t n : {int64_t(0), int64_t(1), int64_t(3), int64_t(4), int64_t(4097),
                            4 * kern::kSumSquaresLanes + 3}) {
        std::vector<float> x(static_cast<size_t>(n));
        double exact = 0;
        for (int64_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>((i * 7919) % 201 - 100);
            exact += double(x[i]) * double(x[i]);  // integers below 2^53: every sum exact
        }
        CAPTURE(n);
        CHECK(kern::sum_squares_cpu(x.data(), n) == exact);
    }
}

TEST_CASE("sum of squares: within its rounding bound of a long-double sum") {
    for (const int64_t n : {int64_t(5), int64_t(100003), int64_t(3) << 20}) {
        const auto x = normal_floats(n, 7, 1e-3f);
        long double ref = 0;
        for (const float v : x) ref += static_cast<long double>(v) * v;
        // Each lane adds at most ceil(n / 4 / lanes) * 4 terms, then 18 tree levels: every sum of
        // positive terms errs by at most that many roundings of the total.
        const double terms = 4.0 * std::ceil(n / 4.0 / kern::kSumSquaresLanes) + 18;
        const double got = kern::sum_squares_cpu(x.data(), n);
        CAPTURE(n);
        CHECK(std::fabs(got - static_cast<double>(ref)) <= terms * 1.2e-16 * static_cast<double>(ref));
        CHECK(got > 0);
    }
}
