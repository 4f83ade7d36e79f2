// CUDA kernel of the ConvRot group Hadamard rotation; CPU twin in kernels/cpu/int8_rotate.cpp.
// One CTA per group: the group sits in shared memory and every stage runs the same
// hadamard_stage_butterfly as the CPU, so the bits match.
#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/int8.hpp>

#include "int8_cuda_check.cuh"

#include <stdexcept>
#include <string>

namespace ctq::kern {
namespace {

constexpr int64_t kMaxGroup = 16384;  // 64 KiB of shared memory

__global__ void rotate_groups_kernel(float* data, int64_t group, int stages) {
    extern __shared__ float v[];
    float* g = data + static_cast<int64_t>(blockIdx.x) * group;
    for (int64_t i = threadIdx.x; i < group; i += blockDim.x) v[i] = g[i];
    __syncthreads();
    for (int s = 0; s < stages; ++s) {
        for (int64_t j = threadIdx.x; j < group / 4; j += blockDim.x) hadamard_stage_butterfly(v, s, j);
        __syncthreads();
    }
    for (int64_t i = threadIdx.x; i < group; i += blockDim.x) g[i] = v[i];
}

}  // namespace

void hadamard_rotate_rows_cuda(float* data, int64_t rows, int64_t cols, int64_t group,
                               void* stream) {
    if (!is_power_of_4(group) || cols % group != 0)
        throw std::invalid_argument("Hadamard group " + std::to_string(group) +
                                    " must be a power of 4 dividing in_features " +
                                    std::to_string(cols));
    if (group > kMaxGroup)
        throw std::invalid_argument("Hadamard group " + std::to_string(group) +
                                    " exceeds the CUDA kernel's limit of 16384");
    const int64_t groups = rows * (cols / group);
    if (groups == 0 || group == 1) return;
    const size_t smem = sizeof(float) * static_cast<size_t>(group);
    CTQ_INT8_CUDA(cudaFuncSetAttribute(rotate_groups_kernel,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(sizeof(float) * kMaxGroup)));
    const int threads = static_cast<int>(group / 4 < 256 ? group / 4 : 256);
    rotate_groups_kernel<<<static_cast<unsigned int>(groups), threads, smem,
                           detail::int8_stream(stream)>>>(data, group, hadamard_stages(group));
    CTQ_INT8_CUDA(cudaGetLastError());
}

Int8NonFinite int8_quantize_rotated_cuda(Int8Mode mode, const float* w, const Int8Tiling& t,
                                         int64_t group, int8_t* q, float* stored, void* stream) {
    const Int8NonFinite bad = int8_scan_non_finite_cuda(w, t.rows * t.cols, stream);
    if (bad.count != 0) return bad;
    cudaStream_t s = detail::int8_stream(stream);
    const size_t bytes = sizeof(float) * static_cast<size_t>(t.rows * t.cols);
    float* rotated = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&rotated), bytes, s));
    try {
        CTQ_INT8_CUDA(cudaMemcpyAsync(rotated, w, bytes, cudaMemcpyDeviceToDevice, s));
        hadamard_rotate_rows_cuda(rotated, t.rows, t.cols, group, stream);
        const Int8NonFinite after = int8_quantize_cuda(mode, rotated, t, q, stored, stream);
        CTQ_INT8_CUDA(cudaFreeAsync(rotated, s));
        return after;
    } catch (...) {
        cudaFreeAsync(rotated, s);
        throw;
    }
}

}  // namespace ctq::kern
