// The fp8 plugin's layouts on CUDA views against the same layouts on CPU views: codes, scales
// and dequantized weights bit for bit, and NaN refused with its position. The plugin is opened
// through its C entry point alone (no host code), from CTQ_FP8_PLUGIN if set, else the build's.
#include <ctq/ctq_plugin.h>

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

struct Plugin {
    std::vector<const ctq_layout_desc*> layouts;

    Plugin() {
        const char* env = std::getenv("CTQ_FP8_PLUGIN");
        const std::string path = env ? env : CTQ_BINARY_DIR "/bin/plugins/ctq_fp8.so";
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        REQUIRE_MESSAGE(handle != nullptr, dlerror());
        auto entry = reinterpret_cast<ctq_entry_fn>(dlsym(handle, CTQ_ENTRY_SYMBOL));
        const bool has_entry = entry != nullptr;
        REQUIRE_MESSAGE(has_entry, "no " CTQ_ENTRY_SYMBOL " in " << path);
        ctq_registrar reg{};
        reg.struct_size = sizeof reg;
        reg.host_ctx = this;
        reg.add_layout = [](void* ctx, const ctq_layout_desc* d, ctq_error*) -> int32_t {
            static_cast<Plugin*>(ctx)->layouts.push_back(d);
            return CTQ_OK;
        };
        reg.add_optimizer = [](void*, const ctq_optimizer_desc*, ctq_error*) -> int32_t { return CTQ_OK; };
        reg.add_preset = [](void*, const ctq_preset_desc*, ctq_error*) -> int32_t { return CTQ_OK; };
        reg.set_info = [](void*, const char*, const char*, const char*) -> int32_t { return CTQ_OK; };
        ctq_host_api host{};
        host.struct_size = sizeof host;
        host.abi_version = CTQ_ABI_VERSION;
        ctq_error err{};
        REQUIRE_MESSAGE(entry(&host, &reg, &err) == CTQ_OK, err.message);
    }
};

ctq_tensor_view view(void* data, ctq_dtype dtype, std::vector<int64_t> shape, bool cuda) {
    ctq_tensor_view v{};
    v.data = data;
    v.dtype = dtype;
    v.ndim = static_cast<int32_t>(shape.size());
    int64_t stride = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
        v.shape[d] = shape[d];
        v.strides[d] = stride;
        stride *= shape[d];
    }
    v.device = ctq_device{cuda ? CTQ_DEVICE_CUDA : CTQ_DEVICE_CPU, 0, nullptr};
    return v;
}

// One quantized layer's buffers on one device.
struct Layer {
    std::vector<ctq_tensor_spec> specs;
    std::vector<void*> data;
    std::vector<size_t> bytes;
    bool cuda;

    Layer(const ctq_layout_desc& d, const ctq_layout_params& p, int64_t rows, int64_t cols, bool on_cuda)
        : cuda(on_cuda) {
        const int64_t shape[2] = {rows, cols};
        ctq_tensor_spec s[CTQ_MAX_OUTPUTS];
        int32_t n = 0;
        ctq_error err{};
        REQUIRE(d.output_specs(d.user, shape, &p, s, &n, &err) == CTQ_OK);
        for (int i = 0; i < n; ++i) {
            specs.push_back(s[i]);
            int64_t count = 1;
            for (int k = 0; k < s[i].ndim; ++k) count *= s[i].shape[k];
            bytes.push_back(static_cast<size_t>(count) * (s[i].dtype == CTQ_DTYPE_F32 ? 4 : 1));
            void* ptr = nullptr;
            if (cuda)
                REQUIRE(cudaMalloc(&ptr, bytes.back()) == cudaSuccess);
            else
                ptr = std::malloc(bytes.back());
            data.push_back(ptr);
        }
    }
    ~Layer() {
        for (void* p : data) cuda ? (void)cudaFree(p) : std::free(p);
    }
    std::vector<ctq_tensor_view> views() const {
        std::vector<ctq_tensor_view> v;
        for (size_t i = 0; i < specs.size(); ++i)
            v.push_back(view(data[i], static_cast<ctq_dtype>(specs[i].dtype),
                             std::vector<int64_t>(specs[i].shape, specs[i].shape + specs[i].ndim), cuda));
        return v;
    }
    std::vector<uint8_t> host(size_t i) const {
        std::vector<uint8_t> out(bytes[i]);
        if (cuda)
            REQUIRE(cudaMemcpy(out.data(), data[i], bytes[i], cudaMemcpyDeviceToHost) == cudaSuccess);
        else
            std::memcpy(out.data(), data[i], bytes[i]);
        return out;
    }
};

}  // namespace

TEST_CASE("fp8 plugin: CUDA views give the CPU views' codes, scales and dequantized weights") {
    static Plugin plugin;
    REQUIRE(plugin.layouts.size() == 4);
    const int64_t rows = 1000, cols = 777;
    std::mt19937 rng(4);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(rows * cols);
    for (auto& x : w) x = normal(rng);
    float* w_dev = nullptr;
    REQUIRE(cudaMalloc(&w_dev, w.size() * 4) == cudaSuccess);
    REQUIRE(cudaMemcpy(w_dev, w.data(), w.size() * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    for (const ctq_layout_desc* d : plugin.layouts) {
        const std::string name = d->name;
        CAPTURE(name);
        CHECK((d->flags & CTQ_LAYOUT_SUPPORTS_CUDA) != 0);
        ctq_layout_params p{};
        p.struct_size = sizeof p;
        p.scaling_mode = name == "float8_e4m3fn_rowwise" ? CTQ_SCALING_ROW
                         : name == "float8_e4m3fn_blockwise" ? CTQ_SCALING_BLOCK : CTQ_SCALING_TENSOR;
        p.block_size = 64;
        Layer cpu(*d, p, rows, cols, false), gpu(*d, p, rows, cols, true);
        ctq_error err{};
        const auto w_cpu = view(w.data(), CTQ_DTYPE_F32, {rows, cols}, false);
        const auto w_gpu = view(w_dev, CTQ_DTYPE_F32, {rows, cols}, true);
        auto outs_cpu = cpu.views(), outs_gpu = gpu.views();
        REQUIRE(d->quantize(d->user, &w_cpu, &p, outs_cpu.data(), 2, &err) == CTQ_OK);
        REQUIRE_MESSAGE(d->quantize(d->user, &w_gpu, &p, outs_gpu.data(), 2, &err) == CTQ_OK, err.message);
        CHECK(cpu.host(0) == gpu.host(0));
        CHECK(cpu.host(1) == gpu.host(1));

        std::vector<float> deq_cpu(w.size()), deq_gpu(w.size());
        float* deq_dev = nullptr;
        REQUIRE(cudaMalloc(&deq_dev, w.size() * 4) == cudaSuccess);
        auto out_cpu = view(deq_cpu.data(), CTQ_DTYPE_F32, {rows, cols}, false);
        auto out_gpu = view(deq_dev, CTQ_DTYPE_F32, {rows, cols}, true);
        REQUIRE(d->dequantize(d->user, outs_cpu.data(), 2, &p, &out_cpu, &err) == CTQ_OK);
        REQUIRE(d->dequantize(d->user, outs_gpu.data(), 2, &p, &out_gpu, &err) == CTQ_OK);
        REQUIRE(cudaMemcpy(deq_gpu.data(), deq_dev, w.size() * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
        cudaFree(deq_dev);
        CHECK(std::memcmp(deq_cpu.data(), deq_gpu.data(), w.size() * 4) == 0);
    }

    // A NaN on the GPU is refused with its position, as on the CPU.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    REQUIRE(cudaMemcpy(w_dev + 321 * cols + 45, &nan, 4, cudaMemcpyHostToDevice) == cudaSuccess);
    const ctq_layout_desc* d = plugin.layouts[0];
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    Layer gpu(*d, p, rows, cols, true);
    auto outs = gpu.views();
    const auto w_gpu = view(w_dev, CTQ_DTYPE_F32, {rows, cols}, true);
    ctq_error err{};
    CHECK(d->quantize(d->user, &w_gpu, &p, outs.data(), 2, &err) == CTQ_ERR_NON_FINITE);
    CHECK(std::string(err.message).find("[321, 45]") != std::string::npos);
    cudaFree(w_dev);
}
