// Spreading a batch of flips over the rows and columns of the layer.
//
// Why: two flips in one column j interact through ||v_j||^2 (u_i . u_i'), and in a row through
// ||u_i||^2 (v_j . v_j'). The best-scored flips crowd into the few rows or columns that lie almost
// wholly in the subspace (outlier channels), where the scores, each exact alone, overshoot
// together. On the bench model's double_blocks.1.txt_mlp.2 (FP8, CPU) every batch fell into four
// columns, realised under 30 % of its predicted gain and was halved down to a few dozen flips;
// the search stopped at 0.83x of RTN's subspace error. Capping each line's share of a batch took
// it to 0.18x.
#pragma once

#include <torch/torch.h>

namespace ctq::engine {

// For each element of `line` (int64, any values), how many elements before it hold the same value:
// 0 for the first of its line, 1 for the second, ... Deterministic (a stable sort).
torch::Tensor rank_within_line(const torch::Tensor& line);

// The first `want` flips of `ranked` (flat indices of a rows x cols layer, best first) that keep at
// most row_cap flips in any row and col_cap in any column, counting from the best; order kept.
torch::Tensor spread_over_lines(const torch::Tensor& ranked, int64_t cols, int64_t row_cap, int64_t col_cap,
                                int64_t want);

}  // namespace ctq::engine
