// Torch's current CUDA stream, for plugin kernels that must run in order with torch's own work
// on the same tensors. Compiled against c10/cuda only with a CUDA LibTorch (CMake defines
// CTQ_ENGINE_TORCH_CUDA); otherwise nullptr, the legacy default stream, which is also torch's
// default stream, so ordering holds either way.
#pragma once

#include <torch/torch.h>

namespace ctq::engine {

void* torch_stream(const torch::Device& device);

}  // namespace ctq::engine
