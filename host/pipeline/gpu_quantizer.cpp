#include "pipeline/gpu_quantizer.hpp"

#include "core/error.hpp"
#include "pipeline/cuda_startup.hpp"

#ifdef CTQ_HAVE_CUDA
#include "pipeline/staging_ring.hpp"

#include <ctq/dtype.hpp>
#include <ctq/kernels/convert.hpp>
#include <ctq/kernels/parallel.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <optional>
#endif

namespace ctq {

#ifdef CTQ_HAVE_CUDA

namespace {

void check(cudaError_t s, const char* what) {
    if (s != cudaSuccess) throw CtqError(std::string("CUDA: ") + what + ": " + cudaGetErrorString(s));
}

void* alloc_pinned(size_t n) {
    void* p = nullptr;
    check(cudaMallocHost(&p, n), "pinned staging buffer");
    return p;
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

// Several threads: one core's copy between host buffers is slower than PCIe.
void parallel_copy(void* dst, const void* src, size_t n) {
    constexpr int64_t kPiece = 2 << 20;
    const int64_t bytes = static_cast<int64_t>(n);
    kern::parallel_for((bytes + kPiece - 1) / kPiece, kPiece, [&](int64_t b, int64_t e) {
        const int64_t from = b * kPiece, to = std::min(e * kPiece, bytes);
        std::memcpy(static_cast<uint8_t*>(dst) + from, static_cast<const uint8_t*>(src) + from,
                    static_cast<size_t>(to - from));
    });
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool has_cuda_path(const LayoutOps& ops) { return ops.desc().flags & CTQ_LAYOUT_SUPPORTS_CUDA; }

// Bytes of one output tensor; nullopt for a size no dtype can hold.
std::optional<uint64_t> spec_bytes(const ctq_tensor_spec& s) {
    uint64_t n = 1;
    for (int i = 0; i < s.ndim; ++i) n *= static_cast<uint64_t>(s.shape[i]);
    return byte_size(static_cast<ctq_dtype>(s.dtype), n);
}

// CTQ_CUDA_START=wait: every GPU layer waits for the device instead of going to the CPU while
// it starts (for tests of the GPU path on models the CPU would finish first).
bool always_wait_for_device() {
    const char* v = std::getenv("CTQ_CUDA_START");
    return v && std::string(v) == "wait";
}

}  // namespace

struct GpuQuantizer::Impl {
    int device = 0;
    const SafetensorsReader& reader;
    std::vector<const TensorInfo*> order;  // the GPU layers, when expect() gave them
    std::vector<size_t> largest_out;       // bytes of each output of the GPU layers, at most
    bool order_known = false;
    bool always_wait = always_wait_for_device();
    std::future<void> prepared;  // the device started and the buffers made, on a thread of its own
    bool ready = false;          // prepared, and the device current on this thread
    bool done = false;           // past the last GPU layer: the buffers are being freed
    std::future<void> released;
    cudaStream_t stream = nullptr;
    std::unique_ptr<StagingRing> staging;
    Buffer stored, f32;
    std::vector<Buffer> outs, host_outs;  // per output tensor: device, then pinned
    size_t on_gpu = 0, on_cpu_while_starting = 0, read_ahead = 0;
    double startup_waited = 0, setting_up = 0, on_device = 0, copying_out = 0, read_waited = 0;  // for summary()

    Impl(int d, const SafetensorsReader& r) : device(d), reader(r) {}
    bool use(const LayoutOps& ops, const TensorInfo& info);
    void prepare();
    void start_preparing() { prepared = std::async(std::launch::async, [this] { prepare(); }); }
    void release() noexcept;
    void release_in_background();
};

// Whether the layer goes to the GPU: it must have a CUDA path, and the device must be prepared
// -- or be waited for, when this is the last GPU layer (or the order is unknown).
bool GpuQuantizer::Impl::use(const LayoutOps& ops, const TensorInfo& info) {
    if (!has_cuda_path(ops) || done) return false;
    if (ready) return true;
    if (!prepared.valid()) start_preparing();  // expect() was not called
    const bool must_wait = always_wait || !order_known || order.empty() || &info == order.back();
    if (!must_wait && prepared.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    const auto start = std::chrono::steady_clock::now();
    prepared.get();  // rethrows the device's or the buffers' error
    startup_waited += seconds_since(start);
    check(cudaSetDevice(device), "cudaSetDevice");  // the current device is per thread
    ready = true;
    return true;
}

// On its own thread, so that pinning and allocating (tens of ms) overlaps the CPU's work too.
void GpuQuantizer::Impl::prepare() {
    wait_cuda(device);
    const auto start = std::chrono::steady_clock::now();
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    staging = std::make_unique<StagingRing>(reader, alloc_pinned, [](void* p) { cudaFreeHost(p); });
    staging->expect(order);
    staging->reserve_slots();
    size_t largest_bytes = 0, largest_numel = 0;  // sized once for the model
    for (const TensorInfo* t : order) {
        largest_bytes = std::max<size_t>(largest_bytes, t->nbytes());
        largest_numel = std::max<size_t>(largest_numel, t->numel());
    }
    stored.reserve(largest_bytes, "device input buffer");
    f32.reserve(largest_numel * sizeof(float), "device F32 buffer");
    outs.resize(largest_out.size());
    host_outs.resize(largest_out.size(), Buffer{nullptr, 0, true});
    for (size_t i = 0; i < largest_out.size(); ++i) {
        outs[i].reserve(largest_out[i], "device output buffer");
        host_outs[i].reserve(largest_out[i], "pinned output buffer");
    }
    setting_up = seconds_since(start);
}

void GpuQuantizer::Impl::release() noexcept {
    staging.reset();
    stored.release();
    f32.release();
    for (auto& b : outs) b.release();
    for (auto& b : host_outs) b.release();
    if (stream) cudaStreamDestroy(stream);
    stream = nullptr;
}

// After the last GPU layer, unpinning and freeing (tens of ms) overlap the writer's draining and
// the flush to disk instead of adding to the end of the run.
void GpuQuantizer::Impl::release_in_background() {
    read_waited = staging->seconds_waited();
    read_ahead = staging->tensors_read_ahead();
    done = true;
    released = std::async(std::launch::async, [this] {
        cudaSetDevice(device);
        release();
    });
}

GpuQuantizer::GpuQuantizer(int device_index, const SafetensorsReader& reader)
    : impl_(std::make_unique<Impl>(device_index, reader)) {
    start_cuda(device_index);
}

GpuQuantizer::~GpuQuantizer() {
    Impl& m = *impl_;
    if (m.prepared.valid()) m.prepared.wait();  // its error, if any, was not needed
    if (m.released.valid())
        m.released.wait();
    else
        m.release();
}

bool GpuQuantizer::available() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

void GpuQuantizer::expect(const std::vector<PlannedTensor>& planned) {
    Impl& m = *impl_;
    if (m.prepared.valid() || m.ready) return;  // the buffers are (being) made for an order already
    for (const PlannedTensor& t : planned) {
        if (t.plan.action != PlanAction::Quantize || t.plan.method == RoundingMethod::Learned || !t.ops ||
            !has_cuda_path(*t.ops))
            continue;
        m.order.push_back(t.input);
        if (m.largest_out.size() < t.specs.size()) m.largest_out.resize(t.specs.size());
        for (size_t i = 0; i < t.specs.size(); ++i)
            m.largest_out[i] = std::max<size_t>(m.largest_out[i], spec_bytes(t.specs[i]).value_or(0));
    }
    m.order_known = true;
    m.start_preparing();
}

bool GpuQuantizer::quantize(const LayoutOps& ops, const TensorInfo& info, QuantizedLayer& q) {
    Impl& m = *impl_;
    if (!m.use(ops, info)) {
        m.on_cpu_while_starting += has_cuda_path(ops);
        return false;
    }
    const uint8_t* host = m.staging->take(info);
    const auto start = std::chrono::steady_clock::now();
    const uint64_t n = info.numel();
    m.stored.reserve(info.nbytes(), "device input buffer");
    m.f32.reserve(n * sizeof(float), "device F32 buffer");
    check(cudaMemcpyAsync(m.stored.ptr, host, info.nbytes(), cudaMemcpyHostToDevice, m.stream), "copy to device");
    kern::to_f32_cuda(m.stored.ptr, info.dtype, static_cast<int64_t>(n), static_cast<float*>(m.f32.ptr), m.stream);

    const ctq_device dev{CTQ_DEVICE_CUDA, m.device, m.stream};
    ctq_tensor_view w = cpu_view(m.f32.ptr, CTQ_DTYPE_F32, {q.rows, q.cols});
    w.device = dev;
    std::vector<ctq_tensor_view> views = q.views();
    if (m.outs.size() < views.size()) {  // never shrunk: a dropped Buffer would leak its memory
        m.outs.resize(views.size());
        m.host_outs.resize(views.size(), Buffer{nullptr, 0, true});
    }
    for (size_t i = 0; i < views.size(); ++i) {
        m.outs[i].reserve(q.buffers[i].size(), "device output buffer");
        views[i].data = m.outs[i].ptr;
        views[i].device = dev;
    }
    if (!ops.try_quantize(w, views)) return false;
    // Pinned on the way back: a copy to pageable memory runs at a fraction of the bus's speed.
    for (size_t i = 0; i < views.size(); ++i) {
        m.host_outs[i].reserve(q.buffers[i].size(), "pinned output buffer");
        check(cudaMemcpyAsync(m.host_outs[i].ptr, m.outs[i].ptr, q.buffers[i].size(), cudaMemcpyDeviceToHost,
                              m.stream),
              "copy to host");
    }
    check(cudaStreamSynchronize(m.stream), "quantize on the GPU");
    const auto copy = std::chrono::steady_clock::now();
    for (size_t i = 0; i < views.size(); ++i)
        parallel_copy(q.buffers[i].data(), m.host_outs[i].ptr, q.buffers[i].size());
    m.copying_out += seconds_since(copy);
    m.on_device += std::chrono::duration<double>(copy - start).count();
    ++m.on_gpu;
    if (m.order_known && &info == m.order.back()) m.release_in_background();
    return true;
}

std::string GpuQuantizer::summary() const {
    const Impl& m = *impl_;
    if (m.on_gpu + m.on_cpu_while_starting == 0) return {};  // every layer learned: the engine's own
    const StagingRing* staging = m.ready && !m.done ? m.staging.get() : nullptr;  // else made or freed elsewhere
    const double read_waited = staging ? staging->seconds_waited() : m.read_waited;
    const size_t read_ahead = staging ? staging->tensors_read_ahead() : m.read_ahead;
    char line[400];
    std::snprintf(line, sizeof line,
                  "GPU: %zu layers on the device, %zu on the CPU while CUDA started (%.2f s waited for it, %.2f s "
                  "setting up buffers); %.2f s waited for reads ahead (%zu of %zu read ahead), %.2f s copying to, "
                  "on and from the device, %.2f s copying results out of pinned memory",
                  m.on_gpu, m.on_cpu_while_starting, m.startup_waited, m.ready ? m.setting_up : 0.0,
                  read_waited, read_ahead, m.on_gpu, m.on_device, m.copying_out);
    return line;
}

#else  // no CUDA compiled in

struct GpuQuantizer::Impl {};
GpuQuantizer::GpuQuantizer(int, const SafetensorsReader&) {
    throw CtqError("--device cuda: this ctq was built without CUDA");
}
GpuQuantizer::~GpuQuantizer() = default;
bool GpuQuantizer::available() { return false; }
void GpuQuantizer::expect(const std::vector<PlannedTensor>&) {}
bool GpuQuantizer::quantize(const LayoutOps&, const TensorInfo&, QuantizedLayer&) { return false; }
std::string GpuQuantizer::summary() const { return {}; }

#endif

}  // namespace ctq
