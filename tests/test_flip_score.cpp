// The flip-score CPU twin (kernels/cpu/flip_score.cpp) against the formula evaluated in double,
// its selection against a brute-force scan (ascending, complete, truncated at capacity), and its
// rank keys against a sort by score, then index.
#include "flip_score_fixture.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace ctq;

namespace {

double reference_score(const test::FlipState& s, const kern::FlipScoreInputs& in, int64_t i, double* dfull) {
    const double d = s.delta[i], e = s.err[i];
    const double g = in.g_bf16 ? kern::bf16_to_f32(s.g_bf16[i]) : s.g[i];
    *dfull = (2 * e + d) * d;
    return in.c_self * d * d * s.ru[i / s.cols] * s.rv[i % s.cols] + in.c_full * *dfull + in.c_g * g * d;
}

}  // namespace

TEST_CASE("flip scores: the float twin is the formula, to float rounding") {
    for (const bool bf16 : {false, true}) {
        const test::FlipState s(37, 53, 7);
        const auto in = s.inputs(bf16);
        std::vector<float> out(static_cast<size_t>(s.rows * s.cols));
        kern::flip_scores_cpu(in, 1, s.rows * s.cols, 1e30f, out.data());
        for (int64_t i = 0; i < s.rows * s.cols; ++i) {
            double dfull;
            const double ref = reference_score(s, in, i, &dfull);
            // Three terms of ~10 float roundings each: a few ulp of the largest term.
            const double scale = std::abs(in.c_full * dfull) + std::abs(ref) + 1e-30;
            CHECK(std::abs(out[i] - ref) <= 1e-6 * scale);
        }
    }
}

TEST_CASE("flip scores: the sample's runs, the budget mask; scores at indices are unmasked") {
    const test::FlipState s(41, 25, 3);
    const auto in = s.inputs(true);
    const float budget = 2e-5f;
    // 1025 elements; stride 1: all of them; 7: 19 runs of 8 at 0, 56, ..., 1008; 16: 9 runs at 0,
    // 128, ..., 1024, the last one a single element.
    for (const int64_t stride : {int64_t(1), int64_t(7), int64_t(16)}) {
        const int64_t n = s.rows * s.cols, count = kern::flip_sample_count(n, stride);
        std::vector<int64_t> idx;
        for (int64_t start = 0; start < n; start += 8 * stride)
            for (int64_t i = start; i < std::min(n, start + 8); ++i) idx.push_back(i);
        CAPTURE(stride);
        REQUIRE(static_cast<int64_t>(idx.size()) == count);
        for (int64_t j = 0; j < count; ++j) CHECK(kern::flip_sample_index(j, stride) == idx[j]);
        std::vector<float> sample(static_cast<size_t>(count)), at(idx.size());
        kern::flip_scores_cpu(in, stride, count, budget, sample.data());
        kern::flip_scores_at_cpu(in, idx.data(), count, at.data());
        int masked = 0;
        for (int64_t j = 0; j < count; ++j) {
            float dfull;
            const float s_j = kern::flip_score(in, idx[j], &dfull);
            CHECK(at[j] == s_j);
            CHECK(sample[j] == (dfull > budget ? 0.0f : s_j));
            masked += dfull > budget;
        }
        CHECK(masked > 0);
        CHECK(masked < count);
    }
}

TEST_CASE("flip select: every element under the cut and within the budget, ascending; capacity truncates") {
    for (const auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 53}, {1, 1000}, {1000, 1}, {600, 900}}) {
        const test::FlipState s(rows, cols, 11);
        INFO("shape " << s.rows << "x" << s.cols);
        const auto in = s.inputs(false);
        const float cut = -1e-3f, budget = 1e-5f;
        std::vector<int64_t> expect;
        for (int64_t i = 0; i < rows * cols; ++i) {
            float dfull;
            if (kern::flip_score(in, i, &dfull) <= cut && dfull <= budget) expect.push_back(i);
        }
        REQUIRE(expect.size() > 2);
        std::vector<int64_t> out(expect.size() + 5, -1);
        CHECK(kern::flip_select_cpu(in, cut, budget, out.data(), static_cast<int64_t>(out.size())) ==
              static_cast<int64_t>(expect.size()));
        CHECK(std::vector<int64_t>(out.begin(), out.begin() + expect.size()) == expect);
        std::vector<int64_t> few(2, -1);
        CHECK(kern::flip_select_cpu(in, cut, budget, few.data(), 2) == static_cast<int64_t>(expect.size()));
        CHECK(few == std::vector<int64_t>(expect.begin(), expect.begin() + 2));
        CHECK(kern::flip_select_cpu(in, cut, budget, nullptr, 0) == static_cast<int64_t>(expect.size()));
    }
}

TEST_CASE("flip rank keys: sorted keys order flips by score, ties by index, and give the index back") {
    const test::FlipState s(41, 59, 13);
    const auto in = s.inputs(true);
    const int64_t n = s.rows * s.cols;
    std::vector<int64_t> idx;
    for (int64_t i = n - 1; i >= 0; i -= 3) idx.push_back(i);  // descending: the keys must reorder them
    std::vector<float> score(idx.size());
    kern::flip_scores_at_cpu(in, idx.data(), static_cast<int64_t>(idx.size()), score.data());
    // Ties and both signs: copies of one score at several indices, and the extremes.
    for (size_t j = 0; j < idx.size(); j += 17) score[j] = score[0];
    std::vector<int64_t> keys(idx.size());
    for (size_t j = 0; j < idx.size(); ++j) keys[j] = kern::flip_rank_key(score[j], idx[j]);
    keys.push_back(kern::flip_rank_key(-std::numeric_limits<float>::infinity(), (int64_t(1) << 32) - 1));
    keys.push_back(kern::flip_rank_key(std::numeric_limits<float>::max(), 0));
    std::vector<size_t> by_key(keys.size()), expect(keys.size());
    std::iota(by_key.begin(), by_key.end(), 0);
    std::iota(expect.begin(), expect.end(), 0);
    std::sort(by_key.begin(), by_key.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    auto score_of = [&](size_t j) {
        return j < idx.size() ? score[j] : (j == idx.size() ? -std::numeric_limits<float>::infinity()
                                                            : std::numeric_limits<float>::max());
    };
    auto index_of = [&](size_t j) { return j < idx.size() ? idx[j] : (j == idx.size() ? (int64_t(1) << 32) - 1 : 0); };
    std::sort(expect.begin(), expect.end(), [&](size_t a, size_t b) {
        return score_of(a) != score_of(b) ? score_of(a) < score_of(b) : index_of(a) < index_of(b);
    });
    CHECK(by_key == expect);
    for (size_t j = 0; j < keys.size(); ++j) CHECK(kern::flip_rank_key_index(keys[j]) == index_of(j));
    std::vector<float> unmasked(idx.size());
    kern::flip_scores_at_cpu(in, idx.data(), static_cast<int64_t>(idx.size()), unmasked.data());
    // All slots, then the first 40 real and the rest placeholders that sort last and name element 0.
    for (const int64_t valid : {int64_t(-1), int64_t(40)}) {
        std::vector<int64_t> twin(idx.size());
        kern::flip_rank_keys_cpu(in, idx.data(), static_cast<int64_t>(idx.size()), valid < 0 ? nullptr : &valid,
                                 twin.data());
        for (size_t j = 0; j < idx.size(); ++j) {
            CAPTURE(j);
            if (valid < 0 || static_cast<int64_t>(j) < valid) {
                CHECK(twin[j] == kern::flip_rank_key(unmasked[j], idx[j]));
            } else {
                CHECK(twin[j] == kern::kFlipRankNone);
                CHECK(twin[j] > kern::flip_rank_key(std::numeric_limits<float>::infinity(), (int64_t(1) << 32) - 1));
                CHECK(kern::flip_rank_key_index(twin[j]) == 0);
            }
        }
    }
}
