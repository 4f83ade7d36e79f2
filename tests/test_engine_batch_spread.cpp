// engine/batch_spread.hpp against plain loops: the rank of each flip within its row and column, and
// the greedy cap that keeps the best flips of each line in the order they were ranked.
#include "engine/batch_spread.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <vector>

using namespace ctq;

namespace {

std::vector<int64_t> values_of(const torch::Tensor& t) {
    const auto c = t.contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

std::vector<int64_t> rank_by_loop(const std::vector<int64_t>& line) {
    std::map<int64_t, int64_t> seen;
    std::vector<int64_t> rank;
    for (int64_t x : line) rank.push_back(seen[x]++);
    return rank;
}

// Distinct flat indices of a rows x cols layer, about a third of them in two crowded columns and one
// crowded row, in a random order (as a ranking leaves them).
torch::Tensor crowded_ranking(uint64_t seed, int64_t rows, int64_t cols) {
    torch::manual_seed(seed);
    auto all = torch::randperm(rows * cols, torch::kInt64).narrow(0, 0, rows * cols / 8);
    const auto r = torch::arange(rows, torch::kInt64);
    const auto crowd = torch::cat({r * cols + 3, r * cols + cols - 1, 5 * cols + torch::arange(cols, torch::kInt64)});
    const auto ranked = std::get<0>(at::_unique(torch::cat({all, crowd})));
    return ranked.index_select(0, torch::randperm(ranked.numel(), torch::kInt64));
}

}  // namespace

TEST_CASE("batch spread: rank_within_line counts the earlier elements of the same line") {
    for (uint64_t seed : {1, 2, 3}) {
        torch::manual_seed(seed);
        const auto line = torch::randint(0, 17, {500}, torch::kInt64);
        CHECK(values_of(engine::rank_within_line(line)) == rank_by_loop(values_of(line)));
    }
    CHECK(engine::rank_within_line(torch::empty({0}, torch::kInt64)).numel() == 0);
    CHECK(values_of(engine::rank_within_line(torch::full({4}, 9, torch::kInt64))) == std::vector<int64_t>{0, 1, 2, 3});
}

TEST_CASE("batch spread: spread_over_lines keeps the best flips of each row and column, in order") {
    const int64_t rows = 40, cols = 64;
    for (uint64_t seed : {4, 5}) {
        const auto ranked = crowded_ranking(seed, rows, cols);
        for (const auto& [row_cap, col_cap] : {std::pair<int64_t, int64_t>{2, 2}, {1, 3}, {5, 1}}) {
            // A flip counts toward its row's share even when its column drops it, and the other way
            // round: a line's share goes to the best-ranked flips that name it, kept or not.
            std::vector<int64_t> expected;
            std::map<int64_t, int64_t> in_row, in_col;
            for (int64_t f : values_of(ranked)) {
                const bool row_ok = in_row[f / cols]++ < row_cap, col_ok = in_col[f % cols]++ < col_cap;
                if (row_ok && col_ok) expected.push_back(f);
            }
            const auto kept = engine::spread_over_lines(ranked, cols, row_cap, col_cap, ranked.numel());
            CHECK(values_of(kept) == expected);
            REQUIRE(expected.size() > 8);
            // The crowded lines hold no more than their caps.
            const auto k = values_of(kept);
            CHECK(std::count_if(k.begin(), k.end(), [&](int64_t f) { return f % cols == 3; }) <= col_cap);
            CHECK(std::count_if(k.begin(), k.end(), [&](int64_t f) { return f / cols == 5; }) <= row_cap);
            const auto first = engine::spread_over_lines(ranked, cols, row_cap, col_cap, 7);
            CHECK(values_of(first) == std::vector<int64_t>(expected.begin(), expected.begin() + 7));
        }
    }
}
