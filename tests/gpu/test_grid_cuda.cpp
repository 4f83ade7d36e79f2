// GPU machine only: the learned-rounding grid operations (bracket, encode_values, expand_scale)
// of the FP8 and INT8 plugins on CUDA views give the CPU views' bits, for every layout and
// scaling mode, on targets that include grid values, +-0, subnormal steps, values beyond the
// saturated ends and (FP8) NaN. This is what lets the engine keep lo/hi and the judged codes
// on the GPU.
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

#define CUDA_OK(x) REQUIRE((x) == cudaSuccess)

struct Case {
    const char* plugin;
    const char* layout;
    int32_t mode;
    int64_t block, rows, cols;
};

ctq_layout_params params_of(const Case& c) {
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = c.mode;
    p.block_size = c.block;
    return p;
}

// A buffer on the device, freed on scope exit.
struct Device {
    void* ptr = nullptr;
    size_t bytes;
    Device(const Device&) = delete;  // owns its allocation
    Device& operator=(const Device&) = delete;
    explicit Device(size_t n, const void* from = nullptr) : bytes(n) {
        CUDA_OK(cudaMalloc(&ptr, n ? n : 1));
        if (from) CUDA_OK(cudaMemcpy(ptr, from, n, cudaMemcpyHostToDevice));
    }
    ~Device() { cudaFree(ptr); }
    template <class T>
    std::vector<T> host() const {
        std::vector<T> out(bytes / sizeof(T));
        CUDA_OK(cudaMemcpy(out.data(), ptr, bytes, cudaMemcpyDeviceToHost));
        return out;
    }
};

ctq_tensor_view on_cuda(ctq_tensor_view v, void* data) {
    v.data = data;
    v.device = ctq_device{CTQ_DEVICE_CUDA, 0, nullptr};
    return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Targets around the weight: the weight itself, grid values (the RTN result), +-0, values a
// hair off the grid, values far beyond the largest grid value, and for FP8 one NaN.
std::vector<float> targets(const std::vector<float>& w, const std::vector<float>& rtn, bool allow_nan) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pick(0, 9);
    std::vector<float> x(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
        switch (pick(rng)) {
            case 0: x[i] = rtn[i]; break;
            case 1: x[i] = (i & 1) ? 0.0f : -0.0f; break;
            case 2: x[i] = std::nextafter(rtn[i], std::numeric_limits<float>::infinity()); break;
            case 3: x[i] = w[i] * 1e4f; break;
            case 4: x[i] = w[i] * 1e-6f; break;
            default: x[i] = w[i];
        }
    }
    if (allow_nan) x[x.size() / 2] = std::numeric_limits<float>::quiet_NaN();
    return x;
}

}  // namespace

TEST_CASE("grid operations on CUDA views give the CPU views' bits") {
    const Case cases[] = {
        {"ctq_fp8.so", "float8_e4m3fn", CTQ_SCALING_TENSOR, 0, 1000, 777},
        {"ctq_fp8.so", "float8_e4m3fn_rowwise", CTQ_SCALING_ROW, 0, 513, 300},
        {"ctq_fp8.so", "float8_e4m3fn_blockwise", CTQ_SCALING_BLOCK, 64, 300, 1000},
        {"ctq_fp8.so", "float8_e5m2", CTQ_SCALING_TENSOR, 0, 640, 384},
        {"ctq_int8.so", "int8_tensorwise", CTQ_SCALING_TENSOR, 0, 257, 513},
        {"ctq_int8.so", "int8_tensorwise", CTQ_SCALING_ROW, 0, 1000, 333},
        {"ctq_int8.so", "int8_blockwise", CTQ_SCALING_BLOCK, 128, 300, 1000},
    };
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.f, 0.02f);
    for (const Case& c : cases) {
        CAPTURE(c.layout);
        CAPTURE(c.mode);
        ctq::Registry reg;
        REQUIRE(reg.load_file(std::string(CTQ_BINARY_DIR "/bin/plugins/") + c.plugin));
        const ctq_layout_desc* desc = reg.layout(c.layout);
        REQUIRE(desc);
        const ctq_layout_params p = params_of(c);
        const ctq::LayoutOps ops(*desc, p, "grid.weight");
        const int64_t n = c.rows * c.cols;
        std::vector<float> w(static_cast<size_t>(n));
        for (float& v : w) v = normal(rng);
        auto q = ops.allocate(c.rows, c.cols);
        ops.quantize(w.data(), q);
        std::vector<float> rtn(w.size());
        ops.dequantize(q, rtn.data());
        const bool is_fp8 = std::string(desc->family).rfind("fp8", 0) == 0;
        const auto x = targets(w, rtn, is_fp8);

        // The layer's outputs on the device.
        std::deque<Device> outs_dev;  // deque: elements never move
        for (const auto& b : q.buffers) outs_dev.emplace_back(b.size(), b.data());
        auto outs_cpu = q.views();
        std::vector<ctq_tensor_view> outs_gpu;
        for (size_t i = 0; i < outs_cpu.size(); ++i) outs_gpu.push_back(on_cuda(outs_cpu[i], outs_dev[i].ptr));
        const auto nouts = static_cast<int32_t>(outs_gpu.size());
        ctq_error err{};

        // bracket
        std::vector<float> lo(w.size()), hi(w.size());
        ops.bracket(x.data(), q, lo.data(), hi.data());
        Device x_dev(x.size() * 4, x.data()), lo_dev(x.size() * 4), hi_dev(x.size() * 4);
        const auto xv = on_cuda(ctq::cpu_view(nullptr, CTQ_DTYPE_F32, {c.rows, c.cols}), x_dev.ptr);
        auto lv = on_cuda(xv, lo_dev.ptr), hv = on_cuda(xv, hi_dev.ptr);
        REQUIRE_MESSAGE(desc->bracket(desc->user, &xv, outs_gpu.data(), nouts, &p, &lv, &hv, &err) == CTQ_OK,
                        err.message);
        CHECK(same_bits(lo, lo_dev.host<float>()));
        CHECK(same_bits(hi, hi_dev.host<float>()));

        // encode_values of grid values (hi where finite, else lo): the same codes
        std::vector<float> values(w.size());
        for (size_t i = 0; i < values.size(); ++i) values[i] = std::isnan(hi[i]) ? rtn[i] : ((i % 3) ? hi[i] : lo[i]);
        auto trial = q;
        ops.encode_values(values.data(), trial);
        Device v_dev(values.size() * 4, values.data());
        const auto vv = on_cuda(xv, v_dev.ptr);
        REQUIRE_MESSAGE(desc->encode_values(desc->user, &vv, outs_gpu.data(), nouts, &p, &err) == CTQ_OK, err.message);
        CHECK(trial.buffers[0] == outs_dev[0].host<uint8_t>());

        // expand_scale
        std::vector<float> scale(w.size());
        ops.expand_scale(q, scale.data());
        Device s_dev(scale.size() * 4);
        auto sv = on_cuda(xv, s_dev.ptr);
        REQUIRE(desc->expand_scale(desc->user, outs_gpu.data(), nouts, &p, &sv, &err) == CTQ_OK);
        CHECK(same_bits(scale, s_dev.host<float>()));

        // FP8: a value off the grid is refused at the same position on both devices.
        if (is_fp8) {
            const auto bad = static_cast<size_t>(17 * c.cols + 5);
            if (!(lo[bad] < hi[bad])) continue;
            values[bad] = 0.5f * (lo[bad] + hi[bad]);  // strictly between two neighbours
            Device bad_dev(values.size() * 4, values.data());
            const auto bv = on_cuda(xv, bad_dev.ptr);
            CHECK(desc->encode_values(desc->user, &bv, outs_gpu.data(), nouts, &p, &err) == CTQ_ERR_INVALID_ARGUMENT);
            CHECK(std::string(err.message).find("[17, 5]") != std::string::npos);
        }
    }
}
