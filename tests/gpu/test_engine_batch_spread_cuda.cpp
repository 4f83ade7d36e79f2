// GPU machine only: the batch spread (engine/batch_spread.hpp) on CUDA keeps the same flips in the
// same order as on the CPU, so that the search's batches do not depend on the device: a ranking of
// ~500k flips over a 3072x12288 layer (the bench model's widest), one column of it whole, kept to
// batches of 400k and 600k.
#include "engine/batch_spread.hpp"

#include <doctest/doctest.h>

#include <tuple>

using namespace ctq;

TEST_CASE("batch spread on CUDA: the CPU's flips, in the CPU's order") {
    if (!torch::cuda::is_available()) {
        MESSAGE("skipped: this LibTorch has no usable CUDA device");
        return;
    }
    torch::NoGradGuard no_grad;
    torch::manual_seed(12);
    const int64_t rows = 3072, cols = 12288;
    auto spread = torch::randperm(rows * cols, torch::kInt64).narrow(0, 0, 500000);
    spread = spread.masked_select(spread.remainder(cols).ne(7));
    const auto crowded = torch::arange(rows, torch::kInt64) * cols + 7;  // one whole column
    const auto ranked = torch::cat({crowded.narrow(0, 0, 100), spread, crowded.narrow(0, 100, rows - 100)});
    const auto unique = std::get<0>(at::_unique(ranked));
    REQUIRE(unique.numel() == ranked.numel());
    for (const auto& [row_cap, col_cap, want] : {std::tuple<int64_t, int64_t, int64_t>{2, 2, 400000}, {400, 97, 600000}}) {
        const auto on_cpu = engine::spread_over_lines(ranked, cols, row_cap, col_cap, want);
        const auto on_gpu = engine::spread_over_lines(ranked.to(torch::kCUDA), cols, row_cap, col_cap, want);
        CHECK(on_gpu.device().is_cuda());
        CHECK(torch::equal(on_gpu.to(torch::kCPU), on_cpu));
        CHECK(on_cpu.remainder(cols).eq(7).sum().item<int64_t>() == std::min<int64_t>(col_cap, rows));
    }
    const auto line = ranked.remainder(97);
    CHECK(torch::equal(engine::rank_within_line(line.to(torch::kCUDA)).to(torch::kCPU), engine::rank_within_line(line)));
}
