#include "plan/preset_rules.hpp"

#include "core/error.hpp"
#include "plugins/registry.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ctq {

namespace {

std::vector<std::string> string_list(const nlohmann::json& j, const char* field,
                                     const std::string& source) {
    if (!j.contains(field)) return {};
    const auto& v = j.at(field);
    if (!v.is_array())
        fail(source, "", std::string("preset field \"") + field + "\" must be an array of strings");
    std::vector<std::string> out;
    for (const auto& s : v) {
        if (!s.is_string() || s.get<std::string>().empty())
            fail(source, "",
                 std::string("preset field \"") + field + "\" must hold non-empty strings, found " +
                     s.dump());
        out.push_back(s.get<std::string>());
    }
    return out;
}

std::string optional_string(const nlohmann::json& j, const char* field, const std::string& source) {
    if (!j.contains(field)) return {};
    if (!j.at(field).is_string())
        fail(source, "", std::string("preset field \"") + field + "\" must be a string");
    return j.at(field).get<std::string>();
}

const char* const kKnownFields[] = {"name",     "help",   "category", "exclude",
                                    "highprec", "remove", "implies",  "text_encoder_input_scale"};

std::string registered_names(const Registry& registry) {
    std::string s;
    for (const auto* p : registry.presets()) s += (s.empty() ? "" : ", ") + std::string(p->name);
    return s.empty() ? "(none: is the models plugin loaded?)" : s;
}

}  // namespace

PresetRules parse_preset_rules(const std::string& rules_json, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(rules_json);
    } catch (const std::exception& e) {
        fail(source, "", std::string("preset is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail(source, "", "preset must be a JSON object");
    for (const auto& item : j.items()) {
        const std::string& k = item.key();
        const bool known = std::any_of(std::begin(kKnownFields), std::end(kKnownFields),
                                       [&](const char* f) { return k == f; });
        if (!known && k.rfind('_', 0) != 0)
            fail(source, "",
                 "unknown preset field \"" + k +
                     "\" (known: name, help, category, exclude, highprec, remove, "
                     "implies, text_encoder_input_scale)");
    }
    PresetRules r;
    r.name = optional_string(j, "name", source);
    if (r.name.empty()) fail(source, "", "preset needs a non-empty string \"name\"");
    r.help = optional_string(j, "help", source);
    r.category = optional_string(j, "category", source);
    r.exclude = string_list(j, "exclude", source);
    r.highprec = string_list(j, "highprec", source);
    r.remove = string_list(j, "remove", source);
    r.implies = string_list(j, "implies", source);
    if (j.contains("text_encoder_input_scale")) {
        if (!j.at("text_encoder_input_scale").is_boolean())
            fail(source, "", "preset field \"text_encoder_input_scale\" must be true or false");
        r.text_encoder_input_scale = j.at("text_encoder_input_scale").get<bool>();
    }
    return r;
}

std::vector<PresetRules> resolve_presets(const std::vector<std::string>& names,
                                         const Registry& registry) {
    std::vector<PresetRules> out;
    struct Pending {
        std::string name, implied_by;
    };
    std::vector<Pending> pending;  // a stack, first name on top
    for (auto it = names.rbegin(); it != names.rend(); ++it) pending.push_back({*it, ""});
    while (!pending.empty()) {
        const Pending next = pending.back();
        pending.pop_back();
        const std::string& name = next.name;
        if (std::any_of(out.begin(), out.end(),
                        [&](const PresetRules& r) { return r.name == name; }))
            continue;
        const ctq_preset_desc* desc = registry.preset(name);
        if (!desc)
            fail("", "",
                 "unknown preset '" + name + "'" +
                     (next.implied_by.empty() ? "" : " (implied by '" + next.implied_by + "')") +
                     "; registered presets: " + registered_names(registry));
        PresetRules rules = parse_preset_rules(desc->rules_json, "preset '" + name + "'");
        if (rules.name != name)
            fail("", "", "preset '" + name + "' carries rules named '" + rules.name + "'");
        for (auto it = rules.implies.rbegin(); it != rules.implies.rend(); ++it)
            pending.push_back({*it, name});
        out.push_back(std::move(rules));
    }
    return out;
}

std::string load_preset_file(Registry& registry, const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), "", "cannot open preset file");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    registry.add_preset_json(text, file.string());  // validates the schema
    return registry.presets().back()->name;
}

const std::string* find_substring(const std::vector<std::string>& keys, const std::string& key) {
    for (const auto& k : keys)
        if (key.find(k) != std::string::npos) return &k;
    return nullptr;
}

}  // namespace ctq
