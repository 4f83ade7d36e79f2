// Error checking shared by the INT8 CUDA sources: every CUDA error becomes a
// std::runtime_error naming the call, for the plugin boundary to turn into a status.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace ctq::kern::detail {

inline void int8_cuda_check(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

inline cudaStream_t int8_stream(void* s) { return static_cast<cudaStream_t>(s); }

// Grid size for a grid-stride loop over n items.
inline unsigned int int8_grid_for(int64_t n, int threads) {
    const int64_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

}  // namespace ctq::kern::detail

#define CTQ_INT8_CUDA(call) ::ctq::kern::detail::int8_cuda_check((call), #call)
