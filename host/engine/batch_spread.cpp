#include "engine/batch_spread.hpp"

#include <algorithm>
#include <tuple>

namespace ctq::engine {

torch::Tensor rank_within_line(const torch::Tensor& line) {
    TORCH_CHECK(line.dim() == 1 && line.scalar_type() == torch::kInt64, "rank within line: a 1-D int64 tensor");
    if (line.numel() == 0) return line.clone();
    const auto [sorted, perm] = line.sort(/*stable=*/true, 0, /*descending=*/false);
    const auto pos = torch::arange(line.numel(), line.options());
    // Where a line starts in the sorted order, carried forward: each element's line start.
    auto starts = sorted.ne(sorted.roll(1));
    starts.index_put_({0}, true);
    const auto line_start = std::get<0>(torch::where(starts, pos, torch::zeros_like(pos)).cummax(0));
    return torch::empty_like(line).scatter_(0, perm, pos - line_start);
}

torch::Tensor spread_over_lines(const torch::Tensor& ranked, int64_t cols, int64_t row_cap, int64_t col_cap,
                                int64_t want) {
    const auto keep = rank_within_line(ranked.remainder(cols)).lt(col_cap);
    keep.logical_and_(rank_within_line(ranked.div(cols, "floor")).lt(row_cap));
    const auto kept = ranked.masked_select(keep);
    return kept.narrow(0, 0, std::min(want, kept.numel()));
}

}  // namespace ctq::engine
