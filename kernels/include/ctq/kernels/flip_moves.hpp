// The search's per-batch gathers and scatters (host/engine/flip_search.cpp), each one kernel: in
// LibTorch they were three to six calls apiece (index_select, casts, elementwise ops), and on the
// GPU a search round costs what its calls cost the host, not their arithmetic (bench/RESULTS.md,
// learned rounding, session 7). The element functions below serve the CPU twins
// (kernels/cpu/flip_moves.cpp) and the CUDA kernels (kernels/cuda/flip_moves.cu), and round as
// the LibTorch ops they replace did, so neither twin changes a bit of the search.
#pragma once

#include <ctq/kernels/flip_score.hpp>  // flip_add, flip_mul, flip_dfull

#include <cstdint>

namespace ctq::kern {

// One flip of a batch: its move and what it does to ||E||^2, for flat index j.
CTQ_HD void gather_move(const float* delta, const float* err, int64_t j, float* d, double* dfull) {
    *d = delta[j];
    *dfull = static_cast<double>(flip_dfull(delta[j], err[j]));
}

// The rank-B factors of a batch's effect on P = U^T E V: row i is u_(j / cols) d and v_(j % cols).
CTQ_HD void low_rank_row(const float* u, const float* v, int64_t cols, int64_t k, int64_t j, float d, int64_t c,
                         float* ud, float* vs) {
    *ud = flip_mul(u[(j / cols) * k + c], d);
    *vs = v[(j % cols) * k + c];
}

// Taking a flip: the error moves by d and the element's next move is back (-d).
CTQ_HD void apply_move(float* err, float* delta, int64_t j) {
    const float d = delta[j];
    err[j] = flip_add(err[j], d);
    delta[j] = -d;
}

// d[i] = delta[idx[i]], dfull[i] = (2 e + d) d in float, widened (i < count).
void gather_moves_cpu(const int64_t* idx, int64_t count, const float* delta, const float* err, float* d,
                      double* dfull);
void gather_moves_cuda(const int64_t* idx, int64_t count, const float* delta, const float* err, float* d,
                       double* dfull, void* stream);

// ud [count x k] = rows idx[i] / cols of u [. x k] times d[i]; vs [count x k] = rows idx[i] % cols
// of v [cols x k] (all row-major).
void low_rank_factors_cpu(const int64_t* idx, const float* d, int64_t count, const float* u, const float* v,
                          int64_t cols, int64_t k, float* ud, float* vs);
void low_rank_factors_cuda(const int64_t* idx, const float* d, int64_t count, const float* u, const float* v,
                           int64_t cols, int64_t k, float* ud, float* vs, void* stream);

// err[j] += delta[j], then delta[j] = -delta[j], for j = idx[i] (distinct).
void apply_moves_cpu(const int64_t* idx, int64_t count, float* err, float* delta);
void apply_moves_cuda(const int64_t* idx, int64_t count, float* err, float* delta, void* stream);

}  // namespace ctq::kern
