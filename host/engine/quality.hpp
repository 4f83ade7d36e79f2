// Error measures for `ctq verify` (no LibTorch types). U_k, V_k come from the same seeded
// randomized SVD the engine uses (default oversampling and power iterations), so for the seed
// and k of a conversion these reproduce the engine's numbers.
#pragma once

#include <cstdint>
#include <string>

namespace ctq {

// ||U_k^T (wq - w) V_k||_F; w, wq: F32 [rows, cols] on the CPU.
double subspace_error(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t k,
                      uint64_t seed, bool exact = false, const std::string& device = "cpu");

// subspace_error / ||U_k^T w V_k||_F (0 when w has no energy there). exact: U_k, V_k from the
// exact SVD instead of the randomized one (which a rounding tuned to one random basis can flatter).
// device: where the SVD runs ("cpu", "cuda", "cuda:N"; on CUDA the Gram-matrix route, same spans).
double relative_subspace_error(const float* w, const float* wq, int64_t rows, int64_t cols,
                               int64_t k, uint64_t seed, bool exact = false, const std::string& device = "cpu");

// ||wq - w||_F / ||w||_F (0 for an all-zero w that wq reproduces).
double relative_full_error(const float* w, const float* wq, int64_t rows, int64_t cols);

// The engine's rank rule: min(max_k, max(min_k, floor(top_p * min(M, N)))), capped at min(M, N).
int64_t learned_rank(int64_t rows, int64_t cols, double top_p, int64_t min_k, int64_t max_k);

}  // namespace ctq
