#include "engine/torch_stream.hpp"

#ifdef CTQ_ENGINE_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace ctq::engine {

void* torch_stream(const torch::Device& device) {
#ifdef CTQ_ENGINE_TORCH_CUDA
    if (device.is_cuda()) return c10::cuda::getCurrentCUDAStream(device.index()).stream();
#else
    (void)device;
#endif
    return nullptr;
}

}  // namespace ctq::engine
