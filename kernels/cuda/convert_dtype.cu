// CUDA twin of host/io/convert_dtype's to_f32 for the floating dtypes a weight arrives in.
#include <ctq/kernels/convert.hpp>
#include <ctq/kernels/half.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ctq::kern {
namespace {

template <class Widen>
__global__ void widen_kernel(const uint16_t* src, int64_t n, float* dst, Widen widen) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = widen(src[i]);
}

struct Bf16 {
    __device__ float operator()(uint16_t h) const { return bf16_to_f32(h); }
};
struct F16 {
    __device__ float operator()(uint16_t h) const { return f16_to_f32(h); }
};

}  // namespace

void to_f32_cuda(const void* src, ctq_dtype dtype, int64_t n, float* dst, void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    cudaError_t status = cudaSuccess;
    const int threads = 256;
    const int blocks = static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535));
    if (n == 0) return;
    if (dtype == CTQ_DTYPE_F32) {
        status = cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s);
    } else if (dtype == CTQ_DTYPE_BF16) {
        widen_kernel<<<blocks, threads, 0, s>>>(static_cast<const uint16_t*>(src), n, dst, Bf16{});
        status = cudaGetLastError();
    } else if (dtype == CTQ_DTYPE_F16) {
        widen_kernel<<<blocks, threads, 0, s>>>(static_cast<const uint16_t*>(src), n, dst, F16{});
        status = cudaGetLastError();
    } else {
        throw std::invalid_argument("to_f32_cuda: dtype must be F32, F16 or BF16");
    }
    if (status != cudaSuccess)
        throw std::runtime_error(std::string("CUDA error in to_f32_cuda: ") + cudaGetErrorString(status));
}

}  // namespace ctq::kern
