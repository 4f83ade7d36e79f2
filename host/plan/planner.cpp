#include "plan/planner.hpp"

#include "core/error.hpp"
#include "plan/user_regex.hpp"
#include "plugins/registry.hpp"

#include <ctq/dtype.hpp>

namespace ctq {

namespace {

const std::string kWeightSuffix = ".weight";

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string config_reason(const LayerConfigEntry& e) {
    if (e.pattern == "_default") return "layer config _default";
    return "layer config pattern '" + e.pattern + "' (tier " + std::to_string(e.tier) + ", len " +
           std::to_string(e.literal_len) + ")";
}

}  // namespace

std::string structural_reason(const TensorInfo& t) {
    if (t.shape.size() != 2) return std::to_string(t.shape.size()) + "-D tensor";
    if (!ends_with(t.name, kWeightSuffix)) return "2-D tensor that is not a .weight";
    if (t.numel() == 0) return "empty tensor";
    const DtypeTraits& traits = dtype_traits(t.dtype);
    if (traits.is_quantized) return std::string("already quantized (") + traits.name + ")";
    if (!traits.is_float)
        return std::string(traits.name) + " weight: not a float dtype (already quantized?)";
    return {};
}

Planner::Planner(const PlanOptions& options, const Registry& registry) : options_(options) {
    primary_ = resolve_tier("primary", options.primary, registry, 0);
    const int64_t inherited = options.primary.block_size;
    if (options.custom) custom_ = resolve_tier("custom", *options.custom, registry, inherited);
    if (options.fallback)
        fallback_ = resolve_tier("fallback", *options.fallback, registry, inherited);
    if (!options.custom_layers.empty()) {
        if (!custom_)
            fail("", "", "--custom-layers needs --custom-type (the custom tier's format)");
        custom_regex_ = compile_user_regex(options.custom_layers, "--custom-layers");
    }
    if (!options.exclude_layers.empty())
        exclude_regex_ = compile_user_regex(options.exclude_layers, "--exclude-layers");
    presets_ = resolve_presets(options.presets, registry);
    for (const auto& p : presets_)
        text_encoder_rule_ = text_encoder_rule_ || p.text_encoder_input_scale;
    if (!options.layer_config.empty())
        layer_config_ =
            LayerConfig::load(options.layer_config, registry, options.layer_config_fullmatch);
    const auto is_int8 = [](const std::optional<ResolvedTier>& t) {
        return t && std::string(t->layout->family) == "int8";
    };
    heuristic_block_ = heuristic_block_size(primary_, is_int8(custom_) || is_int8(fallback_));
}

std::vector<LayerPlan> Planner::plan(const std::vector<TensorInfo>& tensors) const {
    std::vector<LayerPlan> plans;
    plans.reserve(tensors.size());
    for (const auto& t : tensors) plans.push_back(plan_tensor(t));
    return plans;
}

std::string Planner::removal_reason(const std::string& key) const {
    for (const auto& p : presets_)
        if (const std::string* s = find_substring(p.remove, key))
            return p.name + " remove: '" + *s + "'";
    return {};
}

std::string Planner::exclusion_reason(const std::string& key) const {
    if (exclude_regex_ && std::regex_search(key, *exclude_regex_)) return "regex exclusion";
    for (const auto& p : presets_) {
        if (const std::string* s = find_substring(p.exclude, key))
            return p.name + " exclude: '" + *s + "'";
        if (const std::string* s = find_substring(p.highprec, key))
            return p.name + " highprec: '" + *s + "'";
    }
    return {};
}

Planner::Quantize Planner::from_tier(const ResolvedTier& tier, std::string reason) const {
    // --heur is global in the reference; only the custom tier has its own (--custom-heur).
    const bool heur =
        tier.name == "custom" ? tier.format.heur : options_.primary.heur || tier.format.heur;
    Quantize q{tier.name,    std::move(reason),  tier.layout, tier.params,
               &tier.format, tier.format.simple, heur};
    // 4.5: a tier's own flag (--custom-fpmm) or the global -fpmm.
    if (options_.primary.full_precision_mm) q.params.full_precision_mm = 1;
    return q;
}

Planner::Quantize Planner::from_config(const LayerConfigEntry& e, std::string reason) const {
    Quantize q{"config",
               std::move(reason),
               e.layout,
               primary_.params,
               &options_.primary,
               e.simple.value_or(options_.primary.simple),
               options_.primary.heur};
    q.params.scaling_mode = e.scaling_mode;
    q.params.block_size = default_block_size(e.block_size, options_.primary.block_size,
                                             e.layout->family, e.scaling_mode);
    if (e.full_precision_mm) q.params.full_precision_mm = *e.full_precision_mm ? 1 : 0;
    return q;
}

LayerPlan Planner::from_config_entry(LayerPlan plan, const LayerConfigEntry& e,
                                     const TensorInfo& t) const {
    if (e.skip) {
        plan.reason = config_reason(e) + ": skip";
        return plan;
    }
    return finish(std::move(plan), from_config(e, config_reason(e)), t);
}

LayerPlan Planner::finish(LayerPlan plan, const Quantize& q, const TensorInfo& t) const {
    const int64_t rows = t.shape[0], cols = t.shape[1];
    if (q.heur) {
        const std::string why = heuristic_failure(rows, cols, heuristic_block_);
        if (!why.empty()) {
            plan.reason = q.tier + " tier skipped by " + why;
            return plan;
        }
    }
    plan.action = PlanAction::Quantize;
    plan.tier = q.tier;
    plan.reason = q.reason;
    plan.layout = q.layout;
    plan.params = q.params;
    if (q.layout->flags & CTQ_LAYOUT_NEEDS_FPMM) plan.params.full_precision_mm = 1;
    // The reference writes such layers as they are, and ComfyUI then fails at the first forward
    // on an FP8-capable GPU (seen with check_comfy_load.py); a weight-only layer always runs.
    if ((q.layout->flags & CTQ_LAYOUT_MATMUL_NEEDS_16) && !plan.params.full_precision_mm &&
        (rows % 16 != 0 || cols % 16 != 0)) {
        plan.params.full_precision_mm = 1;
        plan.reason += "; full_precision_matrix_mult: ComfyUI's FP8 matmul needs dimensions divisible by 16";
    }
    const std::string rotation = apply_convrot(*q.format, *q.layout, cols, plan.params);
    if (!rotation.empty()) plan.reason += "; " + rotation;
    plan.method = q.simple ? RoundingMethod::Nearest : RoundingMethod::Learned;
    // The reference adds input_scale to FP8 layers only; ComfyUI's FP8 layouts read it, its INT8
    // ones would find an unexpected key (comfy_check/CONTRACT.md).
    const bool fp8_codes = q.layout->storage_dtype == CTQ_DTYPE_F8_E4M3 ||
                           q.layout->storage_dtype == CTQ_DTYPE_F8_E5M2;
    plan.input_scale = fp8_codes && (options_.input_scale || text_encoder_rule_);
    plan.input_scale_from_text_encoder = plan.input_scale && text_encoder_rule_;
    return plan;
}

LayerPlan Planner::plan_tensor(const TensorInfo& t) const {
    LayerPlan plan;
    plan.key = t.name;
    plan.base = ends_with(t.name, kWeightSuffix)
                    ? t.name.substr(0, t.name.size() - kWeightSuffix.size())
                    : t.name;
    if (std::string why = removal_reason(t.name); !why.empty()) {
        plan.action = PlanAction::Drop;
        plan.reason = std::move(why);
        return plan;
    }
    if (std::string why = structural_reason(t); !why.empty()) {
        plan.reason = std::move(why);
        return plan;
    }
    const LayerConfigEntry* entry = layer_config_ ? layer_config_->match(plan.base) : nullptr;
    if (entry) return from_config_entry(std::move(plan), *entry, t);
    if (custom_regex_ && std::regex_search(t.name, *custom_regex_))
        return finish(plan, from_tier(*custom_, "--custom-layers match"), t);
    if (std::string why = exclusion_reason(t.name); !why.empty()) {
        if (fallback_) return finish(plan, from_tier(*fallback_, "fallback for " + why), t);
        plan.reason = std::move(why);
        return plan;
    }
    if (const LayerConfigEntry* def = layer_config_ ? layer_config_->default_entry() : nullptr)
        return from_config_entry(std::move(plan), *def, t);
    return finish(plan, from_tier(primary_, "primary"), t);
}

}  // namespace ctq
