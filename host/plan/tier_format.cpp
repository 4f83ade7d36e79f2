#include "plan/tier_format.hpp"

#include "core/error.hpp"
#include "plugins/registry.hpp"

namespace ctq {

namespace {

struct ModeName {
    const char* name;
    ctq_scaling_mode mode;
};

const ModeName kModeNames[] = {{"tensor", CTQ_SCALING_TENSOR},
                               {"row", CTQ_SCALING_ROW},
                               {"block", CTQ_SCALING_BLOCK},
                               {"block2d", CTQ_SCALING_BLOCK},
                               {"block3d", CTQ_SCALING_BLOCK}};

// The reference's --heur block per primary format when no --block_size is set (3.4).
struct FamilyBlock {
    const char* family;
    int64_t block;
};
const FamilyBlock kHeuristicBlocks[] = {{"nvfp4", 16}, {"mxfp8", 32}, {"int8", 128}, {"fp8", 64}};

std::string first_mode(const char* modes) {
    const std::string all(modes ? modes : "");
    return all.substr(0, all.find(','));
}

// ComfyUI rotates with the regular Hadamard matrix, a Kronecker power of a 4x4 one.
bool is_power_of_four(int64_t v) {
    return v > 0 && (v & (v - 1)) == 0 && (v & 0x5555555555555555LL) != 0;
}

}  // namespace

ctq_scaling_mode parse_scaling_mode(const std::string& mode, const std::string& context) {
    for (const auto& m : kModeNames)
        if (mode == m.name) return m.mode;
    fail(context, "",
         "unknown scaling mode '" + mode + "' (known: tensor, row, block, block2d, block3d)");
}

const char* scaling_mode_name(ctq_scaling_mode mode) {
    switch (mode) {
        case CTQ_SCALING_TENSOR:
            return "tensor";
        case CTQ_SCALING_ROW:
            return "row";
        case CTQ_SCALING_BLOCK:
            return "block";
    }
    return "?";
}

std::string known_layouts(const Registry& registry) {
    std::string s;
    for (const auto* d : registry.layouts())
        s += (s.empty() ? "" : ", ") + std::string(d->name) + " (" + d->family + ": " +
             d->scaling_modes + ")";
    return s.empty() ? "none (no layout plugin loaded)" : s;
}

const ctq_layout_desc& require_layout(const Registry& registry, const std::string& name,
                                      const std::string& context) {
    const ctq_layout_desc* d = registry.layout(name);
    if (!d)
        fail(context, "",
             "unknown format '" + name + "'; known layouts: " + known_layouts(registry));
    return *d;
}

ctq_scaling_mode layout_mode(const ctq_layout_desc& layout, const std::string& requested,
                             const std::string& context) {
    if (requested.empty()) return parse_scaling_mode(first_mode(layout.scaling_modes), context);
    const ctq_scaling_mode mode = parse_scaling_mode(requested, context);
    if (!lists_mode(layout.scaling_modes, scaling_mode_name(mode)))
        fail(context, "",
             std::string("layout '") + layout.name + "' has no scaling mode '" + requested +
                 "' (it supports: " + layout.scaling_modes + ")");
    return mode;
}

int64_t default_block_size(int64_t own, int64_t inherited, const std::string& family,
                           ctq_scaling_mode mode) {
    if (own > 0) return own;
    if (inherited > 0) return inherited;
    const bool needs =
        mode == CTQ_SCALING_BLOCK || (family == "int8" && mode != CTQ_SCALING_TENSOR);
    return needs ? 128 : 0;
}

ResolvedTier resolve_tier(const std::string& tier_name, const TierFormat& format,
                          const Registry& registry, int64_t inherited_block_size) {
    const std::string context = tier_name + " tier";
    ResolvedTier t;
    t.name = tier_name;
    t.format = format;
    ctq_scaling_mode mode;
    if (!format.layout.empty()) {
        t.layout = &require_layout(registry, format.layout, context);
        mode = layout_mode(*t.layout, format.scaling_mode, context);
    } else {
        if (format.family.empty()) fail(context, "", "no format given (family or layout name)");
        mode = parse_scaling_mode(format.scaling_mode.empty() ? "tensor" : format.scaling_mode,
                                  context);
        t.layout = registry.layout_for(format.family, scaling_mode_name(mode));
        if (!t.layout)
            fail(context, "",
                 "no layout of family '" + format.family + "' serves scaling mode '" +
                     scaling_mode_name(mode) + "'; known layouts: " + known_layouts(registry));
    }
    if (format.block_size < 0) fail(context, "", "block size must be positive");
    if ((format.convrot || format.dynamic_convrot) && !is_power_of_four(format.convrot_group_size))
        fail(context, "",
             "ConvRot group size " + std::to_string(format.convrot_group_size) +
                 " is not a power of 4 (ComfyUI's regular Hadamard: 4, 16, 64, 256, 1024 ...)");
    t.params.struct_size = sizeof(ctq_layout_params);
    t.params.scaling_mode = mode;
    t.params.block_size =
        default_block_size(format.block_size, inherited_block_size, t.layout->family, mode);
    t.params.full_precision_mm = format.full_precision_mm ? 1 : 0;
    return t;
}

int64_t heuristic_block_size(const ResolvedTier& primary, bool int8_other_tier) {
    if (primary.params.block_size > 0) return primary.params.block_size;
    if (int8_other_tier) return 128;
    for (const auto& f : kHeuristicBlocks)
        if (primary.layout->family == std::string(f.family)) return f.block;
    return 128;
}

std::string heuristic_failure(int64_t rows, int64_t cols, int64_t block) {
    if (rows >= block && cols >= block && rows % block == 0 && cols % block == 0) return {};
    return "--heur: " + std::to_string(rows) + "x" + std::to_string(cols) +
           " is not a multiple of block " + std::to_string(block);
}

std::optional<int64_t> dynamic_convrot_group(int64_t n, int64_t min_group) {
    int64_t g = 1;
    while (g <= n / 4) g *= 4;  // 4^floor(log4 n)
    for (; g >= min_group && g > 0; g /= 4)
        if (n % g == 0) return g;
    return std::nullopt;
}

std::string apply_convrot(const TierFormat& format, const ctq_layout_desc& layout,
                          int64_t in_features, ctq_layout_params& params) {
    params.convrot = 0;
    params.convrot_group_size = 0;
    if (!format.convrot && !format.dynamic_convrot) return {};
    // The reference rotates INT8 per-row weights only and ignores the flag elsewhere.
    if (layout.family != std::string("int8") || params.scaling_mode != CTQ_SCALING_ROW)
        return "ConvRot ignored (per-row INT8 only)";
    const std::string n = std::to_string(in_features);
    if (format.dynamic_convrot) {
        const auto g = dynamic_convrot_group(in_features, format.convrot_group_size);
        if (!g)
            return "dynamic ConvRot: no power of 4 >= " +
                   std::to_string(format.convrot_group_size) + " divides in_features " + n +
                   ", not rotated";
        params.convrot = 1;
        params.convrot_group_size = *g;
        return "dynamic ConvRot group " + std::to_string(*g) + " for in_features " + n;
    }
    if (in_features % format.convrot_group_size != 0)
        return "ConvRot group " + std::to_string(format.convrot_group_size) +
               " does not divide in_features " + n + ", not rotated";
    params.convrot = 1;
    params.convrot_group_size = format.convrot_group_size;
    return "ConvRot group " + std::to_string(format.convrot_group_size);
}

}  // namespace ctq
