// Test-only plugin: layouts named like the real fp8/int8 ones, with their families and scaling
// modes, so planner tests need no real plugin. Planning reads names, families and modes only;
// quantizing with these is refused.
#include <ctq/plugin.hpp>

namespace {

class FakeLayout : public ctq::Layout {
public:
    FakeLayout(const char* name, const char* family, const char* modes, ctq_dtype storage,
               uint32_t flags)
        : name_(name), family_(family), modes_(modes), storage_(storage), flags_(flags) {}
    const char* name() const override { return name_; }
    const char* description() const override { return "fake layout for planner tests"; }
    const char* family() const override { return family_; }
    const char* scaling_modes() const override { return modes_; }
    ctq_dtype storage_dtype() const override { return storage_; }
    uint32_t flags() const override { return flags_; }
    std::vector<ctq_tensor_spec> output_specs(ctq::Shape2 s,
                                              const ctq_layout_params&) const override {
        return {ctq::make_spec(".weight", storage_, {s.rows, s.cols})};
    }
    std::string comfy_quant_json(const ctq_layout_params&) const override {
        return std::string("{\"format\": \"") + name_ + "\"}";
    }
    void quantize(const ctq_tensor_view&, const ctq_layout_params&, ctq_tensor_view*,
                  int) const override {
        throw ctq::Error(CTQ_ERR_UNSUPPORTED, "fake layout");
    }
    void dequantize(const ctq_tensor_view*, int, const ctq_layout_params&,
                    ctq_tensor_view&) const override {
        throw ctq::Error(CTQ_ERR_UNSUPPORTED, "fake layout");
    }

private:
    const char *name_, *family_, *modes_;
    ctq_dtype storage_;
    uint32_t flags_;
};

}  // namespace

CTQ_PLUGIN("test_layouts", "0", "fake fp8/int8 layouts for planner tests") {
    static FakeLayout layouts[] = {
        {"float8_e4m3fn", "fp8", "tensor", CTQ_DTYPE_F8_E4M3, CTQ_LAYOUT_COMFY_NATIVE},
        {"float8_e4m3fn_rowwise", "fp8", "row", CTQ_DTYPE_F8_E4M3, 0},
        {"float8_e4m3fn_blockwise", "fp8", "block", CTQ_DTYPE_F8_E4M3, 0},
        {"int8_tensorwise", "int8", "tensor,row", CTQ_DTYPE_I8, CTQ_LAYOUT_COMFY_NATIVE},
        {"int8_blockwise", "int8", "block", CTQ_DTYPE_I8, 0},
        {"float8_e5m2", "fp8e5", "tensor", CTQ_DTYPE_F8_E5M2, CTQ_LAYOUT_NEEDS_FPMM},
    };
    for (auto& l : layouts) reg.add(l);
}
