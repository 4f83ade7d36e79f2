// CUDA twins of kernels/cpu/fp8_grid.cpp: the element functions of ctq/kernels/grid.hpp over a
// grid-stride loop, so the same bits as on the CPU.
#include <ctq/kernels/grid.hpp>

#include "int8_cuda_check.cuh"

#include <cstdint>

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;

__device__ float tile_scale(const Fp8Tiling& t, const float* scale, int64_t i) {
    return scale[t.tile_of(i / t.cols, i % t.cols)];
}

template <class F>
__global__ void bracket_kernel(const float* x, Fp8Tiling t, const float* scale, float* lo, float* hi) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        fp8_bracket_element<F>(x[i], tile_scale(t, scale, i), lo[i], hi[i]);
}

template <class F>
__global__ void encode_values_kernel(const float* v, Fp8Tiling t, const float* scale, uint8_t* codes,
                                     unsigned long long* first_bad) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        if (!fp8_encode_value_element<F>(v[i], tile_scale(t, scale, i), codes[i]))
            atomicMin(first_bad, static_cast<unsigned long long>(i));
}

__global__ void expand_scale_kernel(Fp8Tiling t, const float* scale, float* out) {
    const int64_t n = t.rows * t.cols;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = tile_scale(t, scale, i);
}

}  // namespace

void fp8_bracket_cuda(const float* x, const Fp8Tiling& t, const float* scale, Fp8Format f,
                      float* lo, float* hi, void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return;
    with_fp8_format(f, [&](auto fmt) {
        bracket_kernel<decltype(fmt)><<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(
            x, t, scale, lo, hi);
    });
    CTQ_INT8_CUDA(cudaGetLastError());
}

int64_t fp8_encode_values_cuda(const float* v, const Fp8Tiling& t, const float* scale,
                               Fp8Format f, uint8_t* codes, void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return -1;
    const cudaStream_t s = int8_stream(stream);
    unsigned long long* first_bad = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&first_bad), sizeof(*first_bad), s));
    unsigned long long host = ~0ull;
    try {
        CTQ_INT8_CUDA(cudaMemcpyAsync(first_bad, &host, sizeof host, cudaMemcpyHostToDevice, s));
        with_fp8_format(f, [&](auto fmt) {
            encode_values_kernel<decltype(fmt)><<<int8_grid_for(n, kThreads), kThreads, 0, s>>>(
                v, t, scale, codes, first_bad);
        });
        CTQ_INT8_CUDA(cudaGetLastError());
        CTQ_INT8_CUDA(cudaMemcpyAsync(&host, first_bad, sizeof host, cudaMemcpyDeviceToHost, s));
        CTQ_INT8_CUDA(cudaStreamSynchronize(s));
    } catch (...) {
        cudaFreeAsync(first_bad, s);
        throw;
    }
    CTQ_INT8_CUDA(cudaFreeAsync(first_bad, s));
    return host == ~0ull ? -1 : static_cast<int64_t>(host);
}

void fp8_expand_scale_cuda(const Fp8Tiling& t, const float* scale, float* out, void* stream) {
    const int64_t n = t.rows * t.cols;
    if (n == 0) return;
    expand_scale_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(t, scale, out);
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
