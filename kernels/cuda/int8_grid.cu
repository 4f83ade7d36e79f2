// CUDA twins of the INT8 grid operations (plugins/int8_block/int8_grid_ops.cpp): the element
// functions of ctq/kernels/grid.hpp over a grid-stride loop, so the same bits as on the CPU.
#include <ctq/kernels/grid.hpp>

#include "int8_cuda_check.cuh"

#include <cstdint>

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;

__device__ float tile_scale(const Int8Tiling& t, const float* stored, int64_t i) {
    return stored[t.tile_of(i / t.cols, i % t.cols)];
}

__global__ void bracket_kernel(const float* x, Int8Tiling t, const float* stored, float* lo, float* hi) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        int8_bracket_element(x[i], tile_scale(t, stored, i), lo[i], hi[i]);
}

__global__ void encode_values_kernel(const float* v, Int8Tiling t, const float* stored, int8_t* q) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        q[i] = int8_encode_value_element(v[i], tile_scale(t, stored, i));
}

__global__ void expand_scale_kernel(Int8Tiling t, const float* stored, float* out) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = tile_scale(t, stored, i);
}

}  // namespace

void int8_bracket_cuda(const float* x, const Int8Tiling& t, const float* stored, float* lo,
                       float* hi, void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return;
    bracket_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(x, t, stored, lo, hi);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void int8_encode_values_cuda(const float* v, const Int8Tiling& t, const float* stored, int8_t* q,
                             void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return;
    encode_values_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(v, t, stored, q);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void int8_expand_scale_cuda(const Int8Tiling& t, const float* stored, float* out, void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return;
    expand_scale_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(t, stored, out);
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
