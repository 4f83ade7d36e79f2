// CUDA twins of the search's batch loops (kernels/cpu/flip_moves.cpp): the element functions of
// ctq/kernels/flip_moves.hpp over grid-stride loops, so the same bits as on the CPU.
#include <ctq/kernels/flip_moves.hpp>

#include "int8_cuda_check.cuh"

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;

__global__ void gather_kernel(const int64_t* idx, int64_t count, const float* delta, const float* err, float* d,
                              double* dfull) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        gather_move(delta, err, idx[i], d + i, dfull + i);
}

// One thread per (row, column) of the factors: neighbouring threads read neighbouring columns.
__global__ void factors_kernel(const int64_t* idx, const float* d, int64_t count, const float* u, const float* v,
                               int64_t cols, int64_t k, float* ud, float* vs) {
    const int64_t n = count * k;
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = t / k, c = t % k;
        low_rank_row(u, v, cols, k, idx[i], d[i], c, ud + t, vs + t);
    }
}

__global__ void apply_kernel(const int64_t* idx, int64_t count, float* err, float* delta) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        apply_move(err, delta, idx[i]);
}

}  // namespace

void gather_moves_cuda(const int64_t* idx, int64_t count, const float* delta, const float* err, float* d,
                       double* dfull, void* stream) {
    if (count <= 0) return;
    gather_kernel<<<int8_grid_for(count, kThreads), kThreads, 0, int8_stream(stream)>>>(idx, count, delta, err, d,
                                                                                       dfull);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void low_rank_factors_cuda(const int64_t* idx, const float* d, int64_t count, const float* u, const float* v,
                           int64_t cols, int64_t k, float* ud, float* vs, void* stream) {
    if (count <= 0 || k <= 0) return;
    factors_kernel<<<int8_grid_for(count * k, kThreads), kThreads, 0, int8_stream(stream)>>>(idx, d, count, u, v,
                                                                                            cols, k, ud, vs);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void apply_moves_cuda(const int64_t* idx, int64_t count, float* err, float* delta, void* stream) {
    if (count <= 0) return;
    apply_kernel<<<int8_grid_for(count, kThreads), kThreads, 0, int8_stream(stream)>>>(idx, count, err, delta);
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
