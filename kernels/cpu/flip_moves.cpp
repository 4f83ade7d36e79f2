// CPU twins of the search's batch kernels (kernels/cuda/flip_moves.cu): the element functions of
// ctq/kernels/flip_moves.hpp over plain loops, compiled without FMA contraction (CMakeLists.txt).
#include <ctq/kernels/flip_moves.hpp>
#include <ctq/kernels/parallel.hpp>

namespace ctq::kern {

void gather_moves_cpu(const int64_t* idx, int64_t count, const float* delta, const float* err, float* d,
                      double* dfull) {
    parallel_for(count, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) gather_move(delta, err, idx[i], d + i, dfull + i);
    });
}

void low_rank_factors_cpu(const int64_t* idx, const float* d, int64_t count, const float* u, const float* v,
                          int64_t cols, int64_t k, float* ud, float* vs) {
    parallel_for(count, k, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
            for (int64_t c = 0; c < k; ++c) low_rank_row(u, v, cols, k, idx[i], d[i], c, ud + i * k + c, vs + i * k + c);
    });
}

void apply_moves_cpu(const int64_t* idx, int64_t count, float* err, float* delta) {
    for (int64_t i = 0; i < count; ++i) apply_move(err, delta, idx[i]);
}

}  // namespace ctq::kern
