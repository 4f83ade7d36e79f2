#include "quant/comfy_quant_params.hpp"

#include "core/error.hpp"
#include "plugins/registry.hpp"

#include <nlohmann/json.hpp>

namespace ctq {

LayoutChoice layout_from_comfy_quant(const std::string& json_text, const Registry& registry) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const std::exception& e) {
        throw CtqError(std::string(".comfy_quant is not valid JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("format") || !j["format"].is_string())
        throw CtqError(".comfy_quant has no \"format\" string");
    LayoutChoice c;
    c.format = j["format"].get<std::string>();
    c.layout = registry.layout(c.format);
    c.params.struct_size = sizeof(ctq_layout_params);
    c.params.block_size = j.value("group_size", int64_t{0});
    c.params.full_precision_mm = j.value("full_precision_matrix_mult", false);
    const auto& p = j.contains("params") && j["params"].is_object() ? j["params"] : j;
    c.params.convrot = j.value("convrot", p.value("convrot", false));
    c.params.convrot_group_size = j.value("convrot_groupsize", p.value("convrot_groupsize", int64_t{256}));
    if (!c.layout) return c;
    const char* modes = c.layout->scaling_modes;
    if (j.value("per_row", false) && lists_mode(modes, "row")) c.params.scaling_mode = CTQ_SCALING_ROW;
    else if (lists_mode(modes, "tensor")) c.params.scaling_mode = CTQ_SCALING_TENSOR;
    else if (lists_mode(modes, "row")) c.params.scaling_mode = CTQ_SCALING_ROW;
    else c.params.scaling_mode = CTQ_SCALING_BLOCK;
    return c;
}

}  // namespace ctq
