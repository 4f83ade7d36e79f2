// Decides, for every tensor of a file, whether it is kept, dropped or quantized, with which
// layout and parameters, and why (REFERENCE_SPEC 3, 4.4, 4.5, 7). Pure: reads only headers.
//
// Decision order for one tensor (3.5, with our fixes):
//   1. remove   a preset's "remove" substring in the key (any key, not only weights) -> drop
//   2. shape    only float (F32/F16/BF16/F64), non-empty, 2-D ".weight" tensors go further
//   3. config   a --layer-config pattern matches the base name -> config tier (or skip: keep)
//   4. custom   --custom-layers regex (search on the full key) -> custom tier
//   5. exclude  --exclude-layers regex, then active presets' exclude/highprec substrings
//               -> fallback tier with --fallback, else keep
//   6. default  the layer config's `_default` entry, if any -> config tier (or skip: keep)
//   7. primary
// then the --heur divisibility test (custom tier: --custom-heur) may still keep the layer.
#pragma once

#include "io/tensor_info.hpp"
#include "plan/layer_config.hpp"
#include "plan/layer_plan.hpp"
#include "plan/plan_options.hpp"
#include "plan/preset_rules.hpp"
#include "plan/tier_format.hpp"

#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace ctq {

class Registry;

class Planner {
public:
    // Validates everything up front (layouts, regexes, presets, the layer config) and throws a
    // CtqError naming what is wrong. The registry must outlive the planner and its plans.
    Planner(const PlanOptions& options, const Registry& registry);

    // One plan per tensor, in the order given.
    std::vector<LayerPlan> plan(const std::vector<TensorInfo>& tensors) const;
    LayerPlan plan_tensor(const TensorInfo& tensor) const;

    const std::vector<PresetRules>& active_presets() const { return presets_; }
    bool text_encoder_rule() const { return text_encoder_rule_; }

private:
    struct Quantize {  // a tier chosen for a layer, before the per-shape parameters
        std::string tier;
        std::string reason;
        const ctq_layout_desc* layout;
        ctq_layout_params params;
        const TierFormat* format;  // simple / convrot / heur settings
        bool simple;
        bool heur;
    };

    PlanOptions options_;
    ResolvedTier primary_;
    std::optional<ResolvedTier> custom_, fallback_;
    std::optional<std::regex> custom_regex_, exclude_regex_;
    std::vector<PresetRules> presets_;
    std::optional<LayerConfig> layer_config_;
    int64_t heuristic_block_ = 0;
    bool text_encoder_rule_ = false;

    std::string removal_reason(const std::string& key) const;
    std::string exclusion_reason(const std::string& key) const;
    Quantize from_tier(const ResolvedTier& tier, std::string reason) const;
    Quantize from_config(const LayerConfigEntry& entry, std::string reason) const;
    LayerPlan from_config_entry(LayerPlan plan, const LayerConfigEntry& e, const TensorInfo& t) const;
    LayerPlan finish(LayerPlan plan, const Quantize& q, const TensorInfo& t) const;
};

// Why a tensor is not a quantization candidate (2-D float ".weight", non-empty), or "".
std::string structural_reason(const TensorInfo& t);

}  // namespace ctq
