#include "inspect/preset_fit.hpp"

#include "plan/planner.hpp"
#include "plan/preset_rules.hpp"
#include "plugins/registry.hpp"

#include <algorithm>

namespace ctq {

namespace {

PresetFit fit(const PresetRules& r, const std::vector<TensorInfo>& tensors) {
    PresetFit f;
    f.name = r.name;
    std::vector<std::string> all;
    for (const auto* list : {&r.exclude, &r.highprec, &r.remove})
        for (const auto& s : *list)
            if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
    f.substrings = all.size();
    for (const auto& s : all)
        if (std::any_of(tensors.begin(), tensors.end(),
                        [&](const TensorInfo& t) { return t.name.find(s) != std::string::npos; }))
            ++f.substrings_found;
    for (const auto& t : tensors) {
        if (find_substring(all, t.name)) ++f.matched_keys;
        if (find_substring(r.remove, t.name))
            f.removed.push_back(t.name);
        else if (structural_reason(t).empty() &&
                 (find_substring(r.exclude, t.name) || find_substring(r.highprec, t.name)))
            f.kept.push_back(t.name);
    }
    return f;
}

double share(const PresetFit& f) {
    return f.substrings ? static_cast<double>(f.substrings_found) / f.substrings : 0.0;
}

}  // namespace

std::vector<PresetFit> rank_presets(const std::vector<TensorInfo>& tensors,
                                    const Registry& registry) {
    std::vector<PresetFit> fits;
    for (const auto* d : registry.presets()) {
        PresetRules rules;
        try {
            rules = parse_preset_rules(d->rules_json, d->name);
        } catch (const std::exception&) {
            continue;  // a broken preset cannot fit; planning with it reports the error
        }
        PresetFit f = fit(rules, tensors);
        if (f.score() > 0) fits.push_back(std::move(f));
    }
    std::stable_sort(fits.begin(), fits.end(), [](const PresetFit& a, const PresetFit& b) {
        if (a.score() != b.score()) return a.score() > b.score();
        return share(a) > share(b);
    });
    return fits;
}

}  // namespace ctq
