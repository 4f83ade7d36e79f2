// The smallest useful plugin: a layout that stores weights as BF16 (round-to-nearest-even) with
// no scale. Built from the SDK headers alone; tests/test_plugin_registry.cpp loads it.
#include <ctq/plugin.hpp>

#include <cstring>

namespace {

uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round half to even on the dropped 16 bits
    return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t h) {
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

class Bf16Layout : public ctq::Layout {
public:
    const char* name() const override { return "example_bf16"; }
    const char* description() const override { return "BF16 copy, no scale (SDK example)"; }
    const char* family() const override { return "example"; }
    const char* scaling_modes() const override { return "tensor"; }
    ctq_dtype storage_dtype() const override { return CTQ_DTYPE_BF16; }
    uint32_t flags() const override { return 0; }

    std::vector<ctq_tensor_spec> output_specs(ctq::Shape2 s, const ctq_layout_params&) const override {
        return {ctq::make_spec(".weight", CTQ_DTYPE_BF16, {s.rows, s.cols})};
    }
    std::string comfy_quant_json(const ctq_layout_params&) const override {
        return "{\"format\": \"example_bf16\"}";
    }
    void quantize(const ctq_tensor_view& w, const ctq_layout_params&, ctq_tensor_view* outs,
                  int n) const override {
        ctq::require_weight(w);
        if (n != 1 || ctq::on_cuda(w)) throw ctq::Error(CTQ_ERR_UNSUPPORTED, "CPU, one output");
        const float* src = static_cast<const float*>(w.data);
        uint16_t* dst = static_cast<uint16_t*>(outs[0].data);
        for (int64_t i = 0, e = ctq::numel(w); i < e; ++i) dst[i] = to_bf16(src[i]);
    }
    void dequantize(const ctq_tensor_view* outs, int, const ctq_layout_params&,
                    ctq_tensor_view& w_out) const override {
        const uint16_t* src = static_cast<const uint16_t*>(outs[0].data);
        float* dst = static_cast<float*>(w_out.data);
        for (int64_t i = 0, e = ctq::numel(w_out); i < e; ++i) dst[i] = from_bf16(src[i]);
    }
};

}  // namespace

CTQ_PLUGIN("example", "1.0", "SDK example: a BF16 layout") {
    static Bf16Layout layout;
    reg.add(layout);
}
