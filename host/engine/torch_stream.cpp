#include "engine/torch_stream.hpp"

#ifdef CTQ_ENGINE_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
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

void sync_stream(const torch::Device& device) {
    if (!device.is_cuda()) return;
#ifdef CTQ_ENGINE_TORCH_CUDA
    c10::cuda::getCurrentCUDAStream(device.index()).synchronize();
#else
    torch::cuda::synchronize(device.index());
#endif
}

std::vector<double> fetch(const std::vector<torch::Tensor>& scalars) {
    std::vector<torch::Tensor> t;
    for (const auto& s : scalars) t.push_back(s.to(torch::kFloat64).reshape({}));
    const auto host = torch::stack(t).to(torch::kCPU);
    return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

OwnStream::OwnStream(const torch::Device& device) {
#ifdef CTQ_ENGINE_TORCH_CUDA
    if (device.is_cuda())
        guard_ = std::make_shared<c10::cuda::CUDAStreamGuard>(
            c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()));
#else
    (void)device;
#endif
}

}  // namespace ctq::engine
