// The principal subspace of a weight (REFERENCE 5.1), inside the engine only (LibTorch types).
//
// The learned-rounding objective penalises the part of the quantization error E = Wq - W that
// lies in span(U_k) x span(V_k), the top-k singular pairs of W. LibTorch 1.13 has no
// svd_lowrank, so the randomized truncated SVD is written here from QR and matmul (Halko,
// Martinsson & Tropp 2011, algorithm 4.4 with re-orthonormalised power iterations). The test
// matrix comes from a CPU generator seeded by the caller, so U_k and V_k are the same on every
// run and device for one seed (the reference's svd_lowrank is unseeded: defect 17).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace ctq::engine {

// k = min(max_k, max(min_k, floor(top_p * min(M, N)))), capped at min(M, N).
int64_t subspace_rank(int64_t rows, int64_t cols, double top_p, int64_t min_k, int64_t max_k);

struct SubspaceOptions {
    int64_t k = 0;
    // Exact top-k (the default for learned rounding): a search tuned to a randomized basis
    // (oversample 10, 4 power iterations) flatters itself. On a Flux-like 1024-wide model the
    // rounding that had 0.25-0.5x of RTN's error in its own randomized subspace had 0.66x
    // (median) in the exact one; searched in the exact subspace it has 0.56x there.
    bool exact = false;
    int64_t oversample = 10;      // extra columns of the range finder
    int64_t power_iterations = 4; // as the reference's svd_lowrank(niter=4)
    uint64_t seed = 0;
    // Gram-based factorizations (CholeskyQR2 for the range finder, eigh of B B^T for the small
    // SVD), all in FP64: GEMM-bound, where cuSOLVER's Householder QR and gesvd are latency-bound
    // on these tall or wide shapes. The engine picks them on CUDA; same subspace up to rounding.
    bool gram = false;
};

struct Subspace {
    torch::Tensor u;  // [M, k], orthonormal columns
    torch::Tensor v;  // [N, k], orthonormal columns (V_k, not Vh_k)
};

// w: F32 [M, N] on any device; the result lives on w's device.
Subspace principal_subspace(const torch::Tensor& w, const SubspaceOptions& opt);

// ||U^T E V||_F^2 for E [M, N].
double projected_energy(const Subspace& s, const torch::Tensor& e);

}  // namespace ctq::engine
