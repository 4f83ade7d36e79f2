// The ctq_int8 plugin: registers the INT8 layouts, one row of traits each.
#include "int8_layout.hpp"

namespace ctq::int8 {
namespace {

#if defined(CTQ_HAVE_CUDA)
constexpr uint32_t kLearned =
    CTQ_LAYOUT_SUPPORTS_LEARNED | CTQ_LAYOUT_SUPPORTS_CUDA | CTQ_LAYOUT_ACCEPTS_16BIT_INPUT;
#else
constexpr uint32_t kLearned = CTQ_LAYOUT_SUPPORTS_LEARNED | CTQ_LAYOUT_ACCEPTS_16BIT_INPUT;
#endif

// Quantize and dequantize accept CUDA views when built with CUDA, quantize also the stored BF16/F16
// on the CPU; grid operations are CPU only.
const Int8LayoutTraits kInt8Layouts[] = {
    // name, description, scaling modes, flags, default block, group_size, input_scale, convrot
    {"int8_blockwise",
     "INT8, one F32 scale per bs x bs tile (partial edge tiles allowed); needs a custom node",
     "block", kLearned, 128, true, true, false},
    {"int8_tensorwise",
     "INT8, one F32 scale per tensor or per row (+ optional ConvRot); stock ComfyUI",
     "tensor,row", kLearned | CTQ_LAYOUT_COMFY_NATIVE, 0, false, false, true},
};

}  // namespace
}  // namespace ctq::int8

CTQ_PLUGIN("int8", "1.0", "INT8 block-wise, tensor-wise, row-wise and ConvRot layouts") {
    static ctq::int8::Int8Layout blockwise(ctq::int8::kInt8Layouts[0]);
    static ctq::int8::Int8Layout tensorwise(ctq::int8::kInt8Layouts[1]);
    reg.add(blockwise);
    reg.add(tensorwise);
}
