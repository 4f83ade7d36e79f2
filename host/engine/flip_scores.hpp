// The search's per-element flip scores on torch tensors, by the fused kernels of
// ctq/kernels/flip_score.hpp (CUDA kernel or its CPU twin, same bits): one pass over G, delta and
// the error instead of keeping score, full-error change and self-term arrays current and making
// five passes a round over them (on a 56M-element layer those passes were the bulk of a round).
#pragma once

#include <torch/torch.h>

namespace ctq::engine {

// What a score is made of (flat [rows*cols] state; see flip_search.cpp for the formula):
//   score = c_self d^2 ru[row] rv[col] + c_full d (2e + d) + c_g G d
struct FlipTerms {
    torch::Tensor g;          // G = U P V^T, BF16 on CUDA or F32
    torch::Tensor delta, err; // F32
    torch::Tensor row_norm2, col_norm2;  // ||u_i||^2 [rows], ||v_j||^2 [cols], F32
    double c_g = 0, c_self = 0, c_full = 0;
};

// Scores of the sample at this stride (ctq/kernels/flip_score.hpp: runs of 8 elements, one every
// 8 stride; stride 1: all); 0 where the full-error change exceeds budget_left.
torch::Tensor flip_scores(const FlipTerms& t, int64_t stride, float budget_left);
// Scores (unmasked) of the flat indices idx (int64).
torch::Tensor flip_scores_at(const FlipTerms& t, const torch::Tensor& idx);
// Rank keys (ctq/kernels/flip_score.hpp: by score, ties by index) of the flips at flat indices idx,
// the first `valid` of them (an int64 scalar on idx's device; undefined: all), the rest
// kern::kFlipRankNone; and back from a key to its index.
torch::Tensor flip_rank_keys(const FlipTerms& t, const torch::Tensor& idx, const torch::Tensor& valid);
torch::Tensor flip_rank_key_index(const torch::Tensor& keys);
// A pool of candidate flips: `slots` flat indices, of which the first `found` are candidates
// (an int64 scalar on the device, so that nothing waits for it); found > slots: it overflowed.
struct FlipPool {
    torch::Tensor idx, found;
    int64_t slots = 0;
};
// The flat indices of every element with score <= cut (an F32 scalar on the device) and
// full-error change <= budget_left, in a pool of `slots` slots: ascending on the CPU, in no
// particular order on CUDA (atomics; rank them by their keys). No wait for the device.
FlipPool flip_select(const FlipTerms& t, const torch::Tensor& cut, float budget_left, int64_t slots);
// The k-th smallest of the F32 vector x (k = 1: its minimum), as a one-element tensor on x's
// device, by the radix select of ctq/kernels/kth_smallest.hpp (CUDA or its CPU twin, same bits).
torch::Tensor kth_smallest(const torch::Tensor& x, int64_t k);

}  // namespace ctq::engine
