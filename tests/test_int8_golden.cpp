// ctq_int8 round-to-nearest against the reference tool's files (../shared/golden), bit for bit:
// codes, scales and the .comfy_quant bytes of every quantized layer.
#include "io/convert_dtype.hpp"
#include "io/safetensors_reader.hpp"
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

const char* kInput = "../shared/golden/tiny_flux.safetensors";

std::vector<float> read_f32(const ctq::SafetensorsReader& f, const ctq::TensorInfo& t) {
    std::vector<float> v(t.numel());
    ctq::to_f32(f.data(t), t.dtype, t.numel(), v.data());
    return v;
}

std::string base_of(const std::string& key) { return key.substr(0, key.rfind('.')); }

// Quantizes every layer the reference quantized and compares the bytes; returns how many.
int compare_file(const char* golden, const char* layout, ctq_layout_params params) {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_int8.so"));
    const ctq_layout_desc* desc = reg.layout(layout);
    REQUIRE(desc != nullptr);
    const ctq::SafetensorsReader in(kInput), ref(golden);
    int layers = 0;
    for (const ctq::TensorInfo& cq : ref.tensors()) {
        if (cq.name.size() < 12 || cq.name.compare(cq.name.size() - 12, 12, ".comfy_quant") != 0) continue;
        const std::string base = base_of(cq.name);
        CAPTURE(base);
        const ctq::TensorInfo* w = in.find(base + ".weight");
        const ctq::TensorInfo* codes = ref.find(base + ".weight");
        const ctq::TensorInfo* scale = ref.find(base + ".weight_scale");
        REQUIRE(w);
        REQUIRE(codes);
        REQUIRE(scale);
        const ctq::LayoutOps ops(*desc, params, base);
        CHECK(ops.comfy_quant_json() ==
              std::string(reinterpret_cast<const char*>(ref.data(cq)), cq.nbytes()));
        const std::vector<float> wf = read_f32(in, *w);
        ctq::QuantizedLayer q = ops.allocate(w->shape[0], w->shape[1]);
        ops.quantize(wf.data(), q);
        REQUIRE(q.buffers[0].size() == codes->nbytes());
        CHECK(std::memcmp(q.buffers[0].data(), ref.data(*codes), codes->nbytes()) == 0);
        // Scales: same shape and bits; the reference's all-zero weight has one 0-d scale of 1
        // where ours has the mode's own shape, all ones (golden/README allows both).
        const std::vector<float> ref_scale = read_f32(ref, *scale);
        const std::vector<float> ours(reinterpret_cast<const float*>(q.buffers[1].data()),
                                      reinterpret_cast<const float*>(q.buffers[1].data()) +
                                          q.buffers[1].size() / 4);
        if (ref_scale.size() == ours.size()) {
            CHECK(std::memcmp(ours.data(), ref_scale.data(), 4 * ours.size()) == 0);
            for (int d = 0; d < q.specs[1].ndim; ++d) CHECK(q.specs[1].shape[d] == scale->shape[d]);
        } else {
            REQUIRE(ref_scale.size() == 1);
            CHECK(ref_scale[0] == 1.f);
            for (float s : ours) CHECK(s == 1.f);
        }
        if (const ctq::TensorInfo* is = ref.find(base + ".input_scale")) {
            REQUIRE(q.specs.size() == 3);
            CHECK(std::string(q.specs[2].suffix) == ".input_scale");
            CHECK(std::memcmp(q.buffers[2].data(), ref.data(*is), 4) == 0);
        } else {
            CHECK(q.specs.size() == 2);
        }
        ++layers;
    }
    return layers;
}

ctq_layout_params params(int32_t mode, int64_t block) {
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = mode;
    p.block_size = block;
    return p;
}

}  // namespace

TEST_CASE("int8 row-wise matches ref_int8_row bit for bit") {
    CHECK(compare_file("../shared/golden/ref_int8_row.safetensors", "int8_tensorwise",
                       params(CTQ_SCALING_ROW, 0)) == 16);
}

TEST_CASE("int8 block-wise (bs 64) matches ref_int8_block64 bit for bit") {
    CHECK(compare_file("../shared/golden/ref_int8_block64.safetensors", "int8_blockwise",
                       params(CTQ_SCALING_BLOCK, 64)) == 14);
}
