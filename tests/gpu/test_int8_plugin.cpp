// GPU machine only: the ctq_int8 plugin's quantize/dequantize on CUDA views give the same bytes
// as on CPU views, in every mode, ConvRot included (what `ctq convert --device cuda` relies on).
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <random>
#include <vector>

namespace {

#define CUDA_OK(x) REQUIRE((x) == cudaSuccess)

ctq_layout_params params(int32_t mode, int64_t block = 0, int32_t convrot = 0, int64_t group = 0) {
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = mode;
    p.block_size = block;
    p.convrot = convrot;
    p.convrot_group_size = group;
    return p;
}

void* device_copy(const void* host, size_t bytes) {
    void* d = nullptr;
    CUDA_OK(cudaMalloc(&d, bytes ? bytes : 1));
    if (host) CUDA_OK(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice));
    return d;
}

}  // namespace

TEST_CASE("int8 plugin on CUDA views == on CPU views") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_int8.so"));
    struct Case {
        const char* layout;
        ctq_layout_params p;
        int64_t rows, cols;
    };
    const Case cases[] = {{"int8_blockwise", params(CTQ_SCALING_BLOCK, 128), 300, 1000},
                          {"int8_blockwise", params(CTQ_SCALING_BLOCK, 64), 3072, 3072},
                          {"int8_tensorwise", params(CTQ_SCALING_TENSOR), 257, 513},
                          {"int8_tensorwise", params(CTQ_SCALING_ROW), 1000, 333},
                          {"int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 256), 640, 3072},
                          {"int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 1024), 3072, 3072}};
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (const Case& c : cases) {
        CAPTURE(c.layout);
        CAPTURE(c.rows);
        CAPTURE(c.cols);
        const ctq_layout_desc* desc = reg.layout(c.layout);
        REQUIRE(desc);
        CHECK((desc->flags & CTQ_LAYOUT_SUPPORTS_CUDA) != 0);
        const ctq::LayoutOps ops(*desc, c.p, "layer");
        std::vector<float> w(static_cast<size_t>(c.rows * c.cols));
        for (float& x : w) x = normal(rng);
        ctq::QuantizedLayer cpu = ops.allocate(c.rows, c.cols);
        ops.quantize(w.data(), cpu);

        const ctq_device dev{CTQ_DEVICE_CUDA, 0, nullptr};
        ctq_tensor_view wv = ctq::cpu_view(device_copy(w.data(), 4 * w.size()), CTQ_DTYPE_F32, {c.rows, c.cols});
        wv.device = dev;
        ctq::QuantizedLayer gpu = ops.allocate(c.rows, c.cols);
        std::vector<ctq_tensor_view> outs = gpu.views();
        for (size_t i = 0; i < outs.size(); ++i) {
            outs[i].data = device_copy(nullptr, gpu.buffers[i].size());
            outs[i].device = dev;
        }
        REQUIRE(ops.try_quantize(wv, outs));
        for (size_t i = 0; i < outs.size(); ++i) {
            CUDA_OK(cudaMemcpy(gpu.buffers[i].data(), outs[i].data, gpu.buffers[i].size(), cudaMemcpyDeviceToHost));
            CHECK(gpu.buffers[i] == cpu.buffers[i]);
        }

        // dequantize on the device (decode, then inverse rotation for ConvRot)
        std::vector<float> back_cpu(w.size()), back_gpu(w.size());
        ops.dequantize(cpu, back_cpu.data());
        ctq_tensor_view out_v = wv;  // reuse the weight buffer as output
        ctq_error err{};
        REQUIRE(desc->dequantize(desc->user, outs.data(), static_cast<int32_t>(outs.size()), &ops.params(),
                                 &out_v, &err) == CTQ_OK);
        CUDA_OK(cudaMemcpy(back_gpu.data(), out_v.data, 4 * w.size(), cudaMemcpyDeviceToHost));
        CHECK(back_gpu == back_cpu);
        cudaFree(wv.data);
        for (auto& o : outs) cudaFree(o.data);
    }
}
