// What the planner decided for one input tensor. The writer's header and the conversion loop
// are built from these alone.
#pragma once

#include <ctq/ctq_plugin.h>

#include <string>

namespace ctq {

enum class PlanAction {
    Copy,     // bytes copied unchanged
    Drop,     // left out of the output (e.g. --t5xxl decoder)
    Quantize  // replaced by the layout's output tensors
};

enum class RoundingMethod {
    Nearest,  // round-to-nearest (--simple)
    Learned   // the learned-rounding engine
};

struct LayerPlan {
    std::string key;     // input tensor key
    std::string base;    // key without ".weight"
    PlanAction action = PlanAction::Copy;
    std::string tier;    // "config", "custom", "primary", "fallback" (quantized layers)
    std::string reason;  // why: "1-D tensor", "flux2 highprec", "regex exclusion", ...

    // Quantize only:
    const ctq_layout_desc* layout = nullptr;
    ctq_layout_params params{};
    RoundingMethod method = RoundingMethod::Nearest;
    bool input_scale = false;  // also write <base>.input_scale (text-encoder rule, --input_scale)
    // Set with input_scale when a text-encoder preset asked for it (REFERENCE_SPEC 4.4: the
    // reference writes the weight's dequant scale there); otherwise --input_scale means 1.0.
    // Both apply to FP8 layouts only (ComfyUI's INT8 layouts take no input_scale).
    bool input_scale_from_text_encoder = false;
};

const char* to_string(PlanAction a);

}  // namespace ctq
