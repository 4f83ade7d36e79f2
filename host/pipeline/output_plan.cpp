#include "pipeline/output_plan.hpp"

#include "core/error.hpp"
#include "core/python_json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ctq {

namespace {

bool has_suffix(const std::vector<ctq_tensor_spec>& specs, const std::string& suffix) {
    return std::any_of(specs.begin(), specs.end(), [&](const auto& s) { return suffix == s.suffix; });
}

OutputTensor from_spec(const std::string& base, const ctq_tensor_spec& s) {
    return OutputTensor{base + s.suffix, static_cast<ctq_dtype>(s.dtype),
                        std::vector<int64_t>(s.shape, s.shape + s.ndim)};
}

}  // namespace

std::vector<PlannedTensor> plan_outputs(const std::vector<TensorInfo>& inputs,
                                        std::vector<LayerPlan> plans, bool bias_correction) {
    if (plans.size() != inputs.size()) throw CtqError("planner returned a plan per tensor mismatch");
    std::vector<PlannedTensor> out(inputs.size());
    std::map<std::string, size_t> by_key;
    for (size_t i = 0; i < inputs.size(); ++i) by_key[inputs[i].name] = i;
    for (size_t i = 0; i < inputs.size(); ++i) {
        PlannedTensor& t = out[i];
        t.input = &inputs[i];
        t.plan = std::move(plans[i]);
        if (t.plan.action != PlanAction::Quantize) continue;
        const auto& shape = inputs[i].shape;
        t.ops = std::make_unique<LayoutOps>(*t.plan.layout, t.plan.params, t.plan.key);
        t.specs = t.ops->specs(shape[0], shape[1]);
        t.comfy_quant = t.ops->comfy_quant_json();
        // The text-encoder rule copies the weight scale into input_scale; ComfyUI reads a 0-d
        // input_scale only, so layouts with row or block scales get none (the reference writes
        // the vector or matrix: its defect 14).
        const bool scalar_scale = t.specs.size() > 1 && t.specs[1].ndim == 0;
        t.host_input_scale = t.plan.input_scale && !has_suffix(t.specs, ".input_scale") &&
                             (!t.plan.input_scale_from_text_encoder || scalar_scale);
    }
    if (bias_correction) {
        for (auto& t : out) {
            if (t.plan.action != PlanAction::Quantize) continue;
            const auto it = by_key.find(t.plan.base + ".bias");
            if (it == by_key.end() || out[it->second].plan.action != PlanAction::Copy) continue;
            t.corrected_bias = out[it->second].input;
            out[it->second].bias_handled_by_layer = true;
        }
    }
    return out;
}

std::vector<OutputTensor> output_tensors(const std::vector<PlannedTensor>& planned) {
    std::vector<OutputTensor> out;
    for (const auto& t : planned) {
        switch (t.plan.action) {
            case PlanAction::Drop: break;
            case PlanAction::Copy:
                if (!t.bias_handled_by_layer) out.push_back({t.input->name, t.input->dtype, t.input->shape});
                break;
            case PlanAction::Quantize:
                for (const auto& s : t.specs) out.push_back(from_spec(t.plan.base, s));
                out.push_back({t.plan.base + ".comfy_quant", CTQ_DTYPE_U8,
                               {static_cast<int64_t>(t.comfy_quant.size())}});
                if (t.host_input_scale) out.push_back({t.plan.base + ".input_scale", CTQ_DTYPE_F32, {}});
                if (t.corrected_bias)
                    out.push_back({t.corrected_bias->name, t.corrected_bias->dtype, t.corrected_bias->shape});
                break;
        }
    }
    return out;
}

std::string quantization_metadata(const std::vector<PlannedTensor>& planned) {
    std::vector<const PlannedTensor*> layers;
    for (const auto& t : planned)
        if (t.plan.action == PlanAction::Quantize) layers.push_back(&t);
    std::sort(layers.begin(), layers.end(),
              [](const auto* a, const auto* b) { return a->plan.base < b->plan.base; });
    nlohmann::ordered_json entries = nlohmann::ordered_json::object();
    for (const auto* t : layers) {
        // The header entry is the layer's .comfy_quant without per_row, as the reference writes it.
        auto entry = nlohmann::ordered_json::parse(t->comfy_quant);
        entry.erase("per_row");
        entries[t->plan.base] = entry;
    }
    nlohmann::ordered_json doc;
    doc["format_version"] = "1.0";
    doc["layers"] = entries;
    return python_json_dumps(doc);
}

}  // namespace ctq
