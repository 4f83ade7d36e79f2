// The k-th smallest CPU twin (kernels/cpu/kth_smallest.cpp) against a full sort in float order,
// with -0.0 ranked below +0.0 and NaN above +inf, as the order keys define.
#include "kth_smallest_fixture.hpp"

#include <ctq/kernels/kth_smallest.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

using namespace ctq;

namespace {

uint32_t bits_of(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

bool float_order(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);
    if (a == b) return std::signbit(a) && !std::signbit(b);
    return a < b;
}

}  // namespace

TEST_CASE("k-th smallest: the CPU twin is the sorted sequence's k-th element, bit for bit") {
    for (const int64_t n : {int64_t(1), int64_t(5), int64_t(1000), int64_t(65537)}) {
        for (auto& c : test::kth_cases(n, 11)) {
            auto sorted = c.x;
            std::sort(sorted.begin(), sorted.end(), float_order);
            for (const int64_t k : test::kth_ranks(n)) {
                CAPTURE(c.name);
                CAPTURE(n);
                CAPTURE(k);
                CHECK(bits_of(kern::kth_smallest_cpu(c.x.data(), n, k)) == bits_of(sorted[k - 1]));
            }
        }
    }
}

TEST_CASE("k-th smallest: the order keys order floats, signed zeros and NaN included") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const float ascending[] = {-inf, -3.0f, -std::numeric_limits<float>::denorm_min(), -0.0f, 0.0f,
                               std::numeric_limits<float>::denorm_min(), 1.0f, inf, nan};
    for (size_t i = 0; i + 1 < std::size(ascending); ++i) {
        CAPTURE(i);
        CHECK(kern::float_order_key(bits_of(ascending[i])) < kern::float_order_key(bits_of(ascending[i + 1])));
    }
    for (const float v : ascending) CHECK(kern::float_from_order_key(kern::float_order_key(bits_of(v))) == bits_of(v));
    const float with_nan[] = {nan, 2.0f, -1.0f};
    CHECK(kern::kth_smallest_cpu(with_nan, 3, 2) == 2.0f);
    CHECK(std::isnan(kern::kth_smallest_cpu(with_nan, 3, 3)));
    CHECK_THROWS_AS(kern::kth_smallest_cpu(with_nan, 3, 0), std::invalid_argument);
    CHECK_THROWS_AS(kern::kth_smallest_cpu(with_nan, 3, 4), std::invalid_argument);
}
