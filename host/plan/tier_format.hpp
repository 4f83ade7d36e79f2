// Turns a TierFormat (what the user asked for one tier) into a layout and its parameters, with
// the reference's defaults (REFERENCE_SPEC 1.1 block_size, 3.4 heuristic block, 5.10 ConvRot).
#pragma once

#include "plan/plan_options.hpp"

#include <ctq/ctq_plugin.h>

#include <optional>
#include <string>

namespace ctq {

class Registry;

// "tensor" / "row" / "block" ("block2d" and "block3d" are the reference's aliases of "block").
// Anything else is a CtqError.
ctq_scaling_mode parse_scaling_mode(const std::string& mode, const std::string& context);
const char* scaling_mode_name(ctq_scaling_mode mode);

// "name (family fp8: tensor), ..." for error messages.
std::string known_layouts(const Registry& registry);

// The layout named `name`, or a CtqError naming it and listing the known layouts.
const ctq_layout_desc& require_layout(const Registry& registry, const std::string& name,
                                      const std::string& context);

// Scaling mode for `layout`: `requested` when given (must be one the layout lists), else the
// first mode it lists.
ctq_scaling_mode layout_mode(const ctq_layout_desc& layout, const std::string& requested,
                             const std::string& context);

// REFERENCE_SPEC 1.1: the tier's own value, else the inherited --block_size, else 128 when the
// mode needs one (INT8 row/block, any block mode), else 0 (layout default, unused).
int64_t default_block_size(int64_t own, int64_t inherited, const std::string& family,
                           ctq_scaling_mode mode);

// A tier with its layout chosen: the parameters every layer of the tier starts from.
struct ResolvedTier {
    std::string name;  // "primary", "custom", "fallback"
    TierFormat format;
    const ctq_layout_desc* layout = nullptr;
    ctq_layout_params params{};
};

// `inherited_block_size`: the primary tier's explicit block size (custom and fallback inherit
// it as the reference does); 0 for the primary tier itself.
ResolvedTier resolve_tier(const std::string& tier_name, const TierFormat& format,
                          const Registry& registry, int64_t inherited_block_size);

// Block edge the --heur rule tests against (3.4): --block_size after the defaulting of 1.1
// (which also sets 128 when the custom or fallback tier is INT8), else per primary family.
int64_t heuristic_block_size(const ResolvedTier& primary, bool int8_other_tier);

// 3.4: empty when the layer passes, else why it is skipped.
std::string heuristic_failure(int64_t rows, int64_t cols, int64_t block);

// ConvRot (5.10) applies to INT8 per-row layouts only. Writes the group into params and returns
// a note for the plan's reason ("" when ConvRot was not asked for or does not apply).
std::string apply_convrot(const TierFormat& format, const ctq_layout_desc& layout,
                          int64_t in_features, ctq_layout_params& params);

// Largest power of 4 >= min_group that divides n (checked from 4^floor(log4 n) downward).
std::optional<int64_t> dynamic_convrot_group(int64_t n, int64_t min_group);

}  // namespace ctq
