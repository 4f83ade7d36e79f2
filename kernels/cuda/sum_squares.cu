// The sum of squares on the device (ctq/kernels/sum_squares.hpp): one pass of 16-byte loads into
// per-lane FP64 sums, a tree a block, then one block's tree over the blocks. No atomics, so the
// same bits every run, and the CPU twin's.
#include <ctq/kernels/sum_squares.hpp>

#include "int8_cuda_check.cuh"

#include <cstdint>

namespace ctq::kern {
namespace {

using detail::int8_stream;

__device__ double add_square(double acc, float v) { return acc + double(v) * double(v); }

template <int Size>
__device__ double block_tree(double* s) {
    for (int stride = Size / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
        __syncthreads();
    }
    return s[0];
}

__global__ void lanes_kernel(const float* x, int64_t n, double* partial) {
    __shared__ double s[kSumSquaresThreads];
    const int64_t quads = (n + 3) / 4;
    const bool vector = reinterpret_cast<uintptr_t>(x) % 16 == 0;
    double acc = 0;
    for (int64_t q = blockIdx.x * int64_t(kSumSquaresThreads) + threadIdx.x; q < quads; q += kSumSquaresLanes) {
        if (vector && 4 * q + 4 <= n) {
            const float4 v = reinterpret_cast<const float4*>(x)[q];
            acc = add_square(add_square(add_square(add_square(acc, v.x), v.y), v.z), v.w);
        } else {
            for (int64_t i = 4 * q; i < n && i < 4 * q + 4; ++i) acc = add_square(acc, x[i]);
        }
    }
    s[threadIdx.x] = acc;
    __syncthreads();
    const double sum = block_tree<kSumSquaresThreads>(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

__global__ void blocks_kernel(const double* partial, double* out) {
    __shared__ double s[kSumSquaresBlocks];
    s[threadIdx.x] = partial[threadIdx.x];
    __syncthreads();
    const double sum = block_tree<kSumSquaresBlocks>(s);
    if (threadIdx.x == 0) *out = sum;
}

}  // namespace

size_t sum_squares_scratch_bytes() { return sizeof(double) * kSumSquaresBlocks; }

void sum_squares_cuda(const float* x, int64_t n, double* out_device, void* scratch, void* stream) {
    const cudaStream_t s = int8_stream(stream);
    auto* partial = static_cast<double*>(scratch);
    lanes_kernel<<<kSumSquaresBlocks, kSumSquaresThreads, 0, s>>>(x, n, partial);
    CTQ_INT8_CUDA(cudaGetLastError());
    blocks_kernel<<<1, kSumSquaresBlocks, 0, s>>>(partial, out_device);
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
