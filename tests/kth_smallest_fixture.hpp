// Inputs for the k-th smallest tests (CPU twin and CUDA kernel): the shapes of data the search
// selects from (mostly masked zeros with a tail of negative scores) and the hard cases of a
// radix select (ties across every byte, signed zeros, infinities, one value).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace ctq::test {

struct KthCase {
    std::string name;
    std::vector<float> x;
};

inline std::vector<KthCase> kth_cases(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 15);
    std::vector<KthCase> cases;
    auto add = [&](const char* name, auto gen) {
        KthCase c{name, std::vector<float>(static_cast<size_t>(n))};
        for (auto& v : c.x) v = gen();
        cases.push_back(std::move(c));
    };
    add("normal", [&] { return normal(rng); });
    // Masked elements score 0; improving ones are negative and spread over many binades.
    add("search-like", [&] { return pick(rng) < 13 ? 0.0f : -std::ldexp(std::fabs(normal(rng)), -pick(rng)); });
    add("few values", [&] { return static_cast<float>(pick(rng) - 8) * 0.25f; });
    add("signed zeros", [&] { const int v = pick(rng); return v < 6 ? -0.0f : v < 12 ? 0.0f : normal(rng); });
    add("infinities", [&] {
        const int v = pick(rng);
        const float inf = std::numeric_limits<float>::infinity();
        return v == 0 ? -inf : v == 1 ? inf : normal(rng) * 1e30f;
    });
    add("one value", [] { return -1.5f; });
    return cases;
}

// The ranks worth checking for n elements: both ends, the middle and a few others.
inline std::vector<int64_t> kth_ranks(int64_t n) {
    std::vector<int64_t> r{1, n, (n + 1) / 2};
    for (int64_t k : {int64_t(2), int64_t(17), n / 7 + 1, n - 3}) if (k >= 1 && k <= n) r.push_back(k);
    return r;
}

}  // namespace ctq::test
