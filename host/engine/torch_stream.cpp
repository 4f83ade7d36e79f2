#include "engine/torch_stream.hpp"

#ifdef CTQ_ENGINE_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <mutex>
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

bool on_cuda_kernels(const torch::Tensor& t, const char* who) {
#ifdef CTQ_HAVE_CUDA
    (void)who;
    return t.is_cuda();
#else
    TORCH_CHECK(!t.is_cuda(), who, ": this build has no CUDA kernels");
    return false;
#endif
}

std::vector<double> fetch(const std::vector<torch::Tensor>& scalars) {
    std::vector<torch::Tensor> t;
    for (const auto& s : scalars) t.push_back(s.to(torch::kFloat64).reshape({}));
    // One scalar needs no stacking kernel (a search round fetches one several times).
    const auto host = (t.size() == 1 ? t[0] : torch::stack(t)).to(torch::kCPU).contiguous();
    return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

#ifdef CTQ_ENGINE_TORCH_CUDA
namespace {

// Streams handed back by finished layers, for the next ones. The caching allocator keeps freed
// blocks per stream, so a fresh pool stream for every layer would cudaMalloc each layer's
// buffers anew (and keep the old ones cached on streams nobody uses again).
std::mutex free_streams_mutex;
std::vector<c10::cuda::CUDAStream> free_streams;

c10::cuda::CUDAStream take_stream(c10::DeviceIndex device) {
    std::lock_guard<std::mutex> lock(free_streams_mutex);
    for (auto it = free_streams.begin(); it != free_streams.end(); ++it) {
        if (it->device_index() != device) continue;
        const auto s = *it;
        free_streams.erase(it);
        return s;
    }
    return c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
}

}  // namespace
#endif

OwnStream::OwnStream(const torch::Device& device) {
#ifdef CTQ_ENGINE_TORCH_CUDA
    if (!device.is_cuda()) return;
    const auto stream = take_stream(device.index());
    auto* guard = new c10::cuda::CUDAStreamGuard(stream);
    guard_ = std::shared_ptr<void>(guard, [stream](void* g) {
        delete static_cast<c10::cuda::CUDAStreamGuard*>(g);
        std::lock_guard<std::mutex> lock(free_streams_mutex);
        free_streams.push_back(stream);
    });
#else
    (void)device;
#endif
}

}  // namespace ctq::engine
