#include "plan/presets_help.hpp"

#include "plan/preset_rules.hpp"
#include "plugins/registry.hpp"

#include <algorithm>
#include <sstream>

namespace ctq {

namespace {

const char* const kCategoryOrder[] = {"text", "diffusion", "video", "image"};

std::string extras(const ctq_preset_desc& d) {
    PresetRules r;
    try {
        r = parse_preset_rules(d.rules_json, std::string("preset '") + d.name + "'");
    } catch (const std::exception& e) {
        return std::string(" [invalid rules: ") + e.what() + "]";
    }
    std::string s;
    for (const auto& k : r.remove)
        s += (&k == &r.remove.front() ? " [drops keys containing: " : ", ") + k;
    if (!r.remove.empty()) s += "]";
    if (r.text_encoder_input_scale) s += " [text-encoder input_scale]";
    for (const auto& i : r.implies) s += " [implies --" + i + "]";
    return s;
}

}  // namespace

std::string presets_help(const Registry& registry) {
    std::vector<std::string> categories(std::begin(kCategoryOrder), std::end(kCategoryOrder));
    for (const auto* p : registry.presets()) {
        const std::string c = p->category ? p->category : "other";
        if (std::find(categories.begin(), categories.end(), c) == categories.end())
            categories.push_back(c);
    }
    size_t width = 0;
    for (const auto* p : registry.presets()) width = std::max(width, std::string(p->name).size());
    std::ostringstream out;
    out << "Model presets (keep or drop layers of a model family; several combine):\n";
    if (registry.presets().empty()) out << "  (none registered: is the models plugin installed?)\n";
    for (const auto& c : categories) {
        bool header = false;
        for (const auto* p : registry.presets()) {
            if (c != (p->category ? p->category : "other")) continue;
            if (!header) out << "\n " << c << ":\n";
            header = true;
            const std::string name = p->name;
            out << "  --" << name << std::string(width + 2 - name.size(), ' ')
                << (p->help ? p->help : "") << extras(*p) << "\n";
        }
    }
    out << "\n  --preset FILE.json  load more presets (same JSON schema as the plugins')\n";
    return out.str();
}

}  // namespace ctq
