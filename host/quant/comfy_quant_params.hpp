// Reads a layer's .comfy_quant JSON back into the layout and parameters that produced it, so
// any file (ours, the reference's, another tool's) can be dequantized and checked.
#pragma once

#include <ctq/ctq_plugin.h>

#include <string>

namespace ctq {

class Registry;

struct LayoutChoice {
    const ctq_layout_desc* layout = nullptr;  // null when no plugin knows the format
    ctq_layout_params params{};
    std::string format;
};

LayoutChoice layout_from_comfy_quant(const std::string& json_text, const Registry& registry);

}  // namespace ctq
