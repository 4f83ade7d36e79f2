// Torch's current CUDA stream, for plugin kernels that must run in order with torch's own work
// on the same tensors. Compiled against c10/cuda only with a CUDA LibTorch (CMake defines
// CTQ_ENGINE_TORCH_CUDA); otherwise nullptr, the legacy default stream, which is also torch's
// default stream, so ordering holds either way. Also the engine's other dealings with streams:
// waiting for one, giving a layer its own, reading results back in one wait.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace ctq::engine {

void* torch_stream(const torch::Device& device);

// Whether t's data is for ctq's CUDA kernels (true) or their CPU twins; a CUDA tensor in a build
// without those kernels is an error naming `who`.
bool on_cuda_kernels(const torch::Tensor& t, const char* who);

// Waits for the work queued on the current stream of device (CUDA), not the whole device: other
// layers in flight on other streams go on.
void sync_stream(const torch::Device& device);

// Several device scalars in one transfer (one wait for the device instead of one each), as doubles.
std::vector<double> fetch(const std::vector<torch::Tensor>& scalars);

// While alive, torch's current stream on a CUDA device is a stream no other live OwnStream holds,
// so that layers learned on several threads at once do not queue behind each other (no-op on the
// CPU). Streams are reused once handed back, so a run touches only as many as it has layers in flight.
class OwnStream {
public:
    explicit OwnStream(const torch::Device& device);

private:
    std::shared_ptr<void> guard_;
};

}  // namespace ctq::engine
