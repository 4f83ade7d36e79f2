#include "plan/layer_config_template.hpp"

#include <algorithm>

namespace ctq {

nlohmann::ordered_json create_template(const std::vector<TensorInfo>& tensors,
                                       TemplateCounts* counts) {
    static const std::string kSuffix = ".weight";
    constexpr int64_t kMinDim = 16;
    TemplateCounts c;
    std::vector<const TensorInfo*> weights;
    for (const auto& t : tensors) {
        if (t.name.size() < kSuffix.size() ||
            t.name.compare(t.name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
            continue;
        if (t.numel() == 0)
            ++c.skipped_empty;
        else if (t.shape.size() != 2)
            ++c.skipped_not_2d;
        else if (t.shape[0] < kMinDim || t.shape[1] < kMinDim)
            ++c.skipped_small;
        else
            weights.push_back(&t);
    }
    std::sort(weights.begin(), weights.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->name < b->name; });
    nlohmann::ordered_json j;
    j["_default"] = {{"format", ""}};
    j["_exclusions"] = nlohmann::ordered_json::array();
    for (const TensorInfo* t : weights) {
        nlohmann::ordered_json entry;
        entry["format"] = "";
        entry["_shape"] = t->shape;
        j[t->name.substr(0, t->name.size() - kSuffix.size())] = entry;
    }
    c.written = weights.size();
    if (counts) *counts = c;
    return j;
}

std::string dump_template(const nlohmann::ordered_json& tmpl) {
    return tmpl.dump(2);
}

}  // namespace ctq
