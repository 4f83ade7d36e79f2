// Everything the user said that decides, layer by layer, what happens. Filled by the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ctq {

// One tier's choice of format: a family (fp8, int8, ...) and scaling mode pick a layout from the
// registry, or `layout` names one directly (--format).
struct TierFormat {
    std::string family;        // "fp8", "int8", ...
    std::string scaling_mode;  // "tensor", "row", "block"
    std::string layout;        // explicit layout name; overrides family + scaling_mode
    int64_t block_size = 0;    // 0: the reference's default for the family
    bool simple = false;       // round-to-nearest
    bool heur = false;         // skip layers failing the block-divisibility heuristic
    bool full_precision_mm = false;
    bool convrot = false;
    int64_t convrot_group_size = 256;
    bool dynamic_convrot = false;
};

struct PlanOptions {
    TierFormat primary;
    std::optional<TierFormat> custom;    // --custom-type ...
    std::string custom_layers;           // regex (search) selecting the custom tier
    std::optional<TierFormat> fallback;  // --fallback ...
    std::string exclude_layers;          // regex (search): keep high precision or fallback
    std::vector<std::string> presets;    // active model presets (--t5xxl, --preset FILE ...)
    std::string layer_config;            // --layer-config FILE.json
    bool layer_config_fullmatch = false; // --fullmatch
    bool input_scale = false;            // --input_scale
};

}  // namespace ctq
