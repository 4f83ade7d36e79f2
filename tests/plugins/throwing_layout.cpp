// A layout whose quantize throws a plain C++ exception inside the plugin: the SDK layer must turn
// it into a status, and the host must stop cleanly without leaving an output behind.
#include <ctq/plugin.hpp>

#include <stdexcept>

namespace {
class ThrowingLayout : public ctq::Layout {
public:
    const char* name() const override { return "test_throwing"; }
    const char* description() const override { return "throws in quantize (test)"; }
    const char* family() const override { return "test_throwing"; }
    const char* scaling_modes() const override { return "tensor"; }
    ctq_dtype storage_dtype() const override { return CTQ_DTYPE_U8; }
    uint32_t flags() const override { return 0; }
    std::vector<ctq_tensor_spec> output_specs(ctq::Shape2 s, const ctq_layout_params&) const override {
        return {ctq::make_spec(".weight", CTQ_DTYPE_U8, {s.rows, s.cols})};
    }
    std::string comfy_quant_json(const ctq_layout_params&) const override { return "{\"format\": \"test_throwing\"}"; }
    void quantize(const ctq_tensor_view&, const ctq_layout_params&, ctq_tensor_view*, int) const override {
        throw std::runtime_error("deliberate exception inside the plugin");
    }
    void dequantize(const ctq_tensor_view*, int, const ctq_layout_params&, ctq_tensor_view&) const override {}
};
}  // namespace

CTQ_PLUGIN("throwing", "0.1", "a layout that throws") {
    static ThrowingLayout layout;
    reg.add(layout);
}
