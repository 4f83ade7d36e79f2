#include "pipeline/gpu_quantizer.hpp"

#include "core/error.hpp"

#ifdef CTQ_HAVE_CUDA
#include <ctq/kernels/convert.hpp>
#include <ctq/kernels/parallel.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <vector>
#endif

namespace ctq {

#ifdef CTQ_HAVE_CUDA

namespace {

void check(cudaError_t s, const char* what) {
    if (s != cudaSuccess) throw CtqError(std::string("CUDA: ") + what + ": " + cudaGetErrorString(s));
}

// A device or pinned buffer that only grows.
struct Buffer {
    void* ptr = nullptr;
    size_t size = 0;
    bool pinned = false;
    void reserve(size_t n, const char* what) {
        if (n <= size) return;
        release();
        check(pinned ? cudaMallocHost(&ptr, n) : cudaMalloc(&ptr, n), what);
        size = n;
    }
    void release() {
        if (ptr) pinned ? cudaFreeHost(ptr) : cudaFree(ptr);
        ptr = nullptr;
        size = 0;
    }
};

}  // namespace

struct GpuQuantizer::Impl {
    int device = 0;
    cudaStream_t stream = nullptr;
    Buffer staging{nullptr, 0, true}, stored, f32;
    std::vector<Buffer> outs;
};

GpuQuantizer::GpuQuantizer(int device_index) : impl_(std::make_unique<Impl>()) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
        throw CtqError("--device cuda: no CUDA device is available on this machine");
    if (device_index < 0 || device_index >= count)
        throw CtqError("--device cuda:" + std::to_string(device_index) + ": this machine has " +
                       std::to_string(count) + " CUDA device(s)");
    impl_->device = device_index;
    check(cudaSetDevice(device_index), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
}

GpuQuantizer::~GpuQuantizer() {
    impl_->staging.release();
    impl_->stored.release();
    impl_->f32.release();
    for (auto& b : impl_->outs) b.release();
    if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

bool GpuQuantizer::available() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

bool GpuQuantizer::quantize(const LayoutOps& ops, const TensorInfo& info, const uint8_t* stored, QuantizedLayer& q) {
    if (!(ops.desc().flags & CTQ_LAYOUT_SUPPORTS_CUDA)) return false;
    Impl& m = *impl_;
    const uint64_t n = info.numel();
    m.staging.reserve(info.nbytes(), "pinned staging buffer");
    m.stored.reserve(info.nbytes(), "device input buffer");
    m.f32.reserve(n * sizeof(float), "device F32 buffer");
    // Several threads: one core's memcpy from the page cache is slower than PCIe.
    constexpr int64_t kChunk = 8 << 20;
    const int64_t bytes = static_cast<int64_t>(info.nbytes());
    kern::parallel_for((bytes + kChunk - 1) / kChunk, kChunk, [&](int64_t b, int64_t e) {
        const int64_t from = b * kChunk, to = std::min(e * kChunk, bytes);
        std::memcpy(static_cast<uint8_t*>(m.staging.ptr) + from, stored + from, static_cast<size_t>(to - from));
    });
    check(cudaMemcpyAsync(m.stored.ptr, m.staging.ptr, info.nbytes(), cudaMemcpyHostToDevice, m.stream), "copy to device");
    kern::to_f32_cuda(m.stored.ptr, info.dtype, static_cast<int64_t>(n), static_cast<float*>(m.f32.ptr), m.stream);

    const ctq_device dev{CTQ_DEVICE_CUDA, m.device, m.stream};
    ctq_tensor_view w = cpu_view(m.f32.ptr, CTQ_DTYPE_F32, {q.rows, q.cols});
    w.device = dev;
    std::vector<ctq_tensor_view> views = q.views();
    m.outs.resize(views.size());
    for (size_t i = 0; i < views.size(); ++i) {
        m.outs[i].reserve(q.buffers[i].size(), "device output buffer");
        views[i].data = m.outs[i].ptr;
        views[i].device = dev;
    }
    if (!ops.try_quantize(w, views)) return false;
    for (size_t i = 0; i < views.size(); ++i)
        check(cudaMemcpyAsync(q.buffers[i].data(), m.outs[i].ptr, q.buffers[i].size(), cudaMemcpyDeviceToHost, m.stream),
              "copy to host");
    check(cudaStreamSynchronize(m.stream), "quantize on the GPU");
    return true;
}

#else  // no CUDA compiled in

struct GpuQuantizer::Impl {};
GpuQuantizer::GpuQuantizer(int) { throw CtqError("--device cuda: this ctq was built without CUDA"); }
GpuQuantizer::~GpuQuantizer() = default;
bool GpuQuantizer::available() { return false; }
bool GpuQuantizer::quantize(const LayoutOps&, const TensorInfo&, const uint8_t*, QuantizedLayer&) { return false; }

#endif

}  // namespace ctq
