#include "plan/plan_table.hpp"

#include "plan/tier_format.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace ctq {

std::string plan_format_label(const LayerPlan& p) {
    if (p.action != PlanAction::Quantize || !p.layout) return {};
    std::string s = p.layout->name;
    const auto mode = static_cast<ctq_scaling_mode>(p.params.scaling_mode);
    // The mode is only news when the layout serves more than one.
    if (std::string(p.layout->scaling_modes).find(',') != std::string::npos)
        s += std::string("/") + scaling_mode_name(mode);
    if (mode == CTQ_SCALING_BLOCK && p.params.block_size > 0)
        s += " bs" + std::to_string(p.params.block_size);
    if (p.params.convrot) s += " convrot" + std::to_string(p.params.convrot_group_size);
    if (p.params.full_precision_mm) s += " fpmm";
    if (p.method == RoundingMethod::Nearest) s += " rtn";
    return s;
}

std::string format_plan_table(const std::vector<LayerPlan>& plans) {
    size_t key_w = 3, fmt_w = 6;
    std::vector<std::string> labels;
    for (const auto& p : plans) {
        labels.push_back(plan_format_label(p));
        key_w = std::max(key_w, p.key.size());
        fmt_w = std::max(fmt_w, labels.back().size());
    }
    std::ostringstream out;
    auto row = [&](const std::string& action, const std::string& tier, const std::string& fmt,
                   const std::string& key, const std::string& reason) {
        out << action << std::string(10 - std::min<size_t>(9, action.size()), ' ') << tier
            << std::string(10 - std::min<size_t>(9, tier.size()), ' ') << fmt
            << std::string(fmt_w + 2 - fmt.size(), ' ') << key
            << std::string(key_w + 2 - key.size(), ' ') << reason << "\n";
    };
    row("action", "tier", "format", "key", "reason");
    std::map<std::string, size_t> per_format;
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < plans.size(); ++i) {
        const LayerPlan& p = plans[i];
        row(to_string(p.action), p.tier, labels[i], p.key, p.reason);
        ++counts[static_cast<int>(p.action)];
        if (p.action == PlanAction::Quantize) ++per_format[p.tier + " " + labels[i]];
    }
    out << "\n"
        << plans.size() << " tensors: " << counts[static_cast<int>(PlanAction::Quantize)]
        << " quantized, " << counts[static_cast<int>(PlanAction::Copy)] << " kept, "
        << counts[static_cast<int>(PlanAction::Drop)] << " dropped\n";
    for (const auto& [what, n] : per_format) out << "  " << n << " x " << what << "\n";
    return out.str();
}

}  // namespace ctq
