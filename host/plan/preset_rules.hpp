// A model preset's rules, parsed from the JSON schema of ctq_plugin.h (the same document a plugin
// registers and a user passes with --preset FILE.json), and the set of presets a run activates.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ctq {

class Registry;

struct PresetRules {
    std::string name, help, category;
    std::vector<std::string> exclude;   // keep in high precision (or send to --fallback)
    std::vector<std::string> highprec;  // same effect as exclude; kept apart for the reasons shown
    std::vector<std::string> remove;    // drop from the output, every key (not only weights)
    std::vector<std::string> implies;   // other presets switched on with this one
    bool text_encoder_input_scale = false;  // REFERENCE_SPEC 4.4
};

// Parses and validates one rules document; `source` (a file, or "plugin preset 'x'") prefixes
// every error. Unknown keys are refused (a typo must not silently do nothing), except keys
// starting with '_', which are comments.
PresetRules parse_preset_rules(const std::string& rules_json, const std::string& source);

// The presets named in `names` plus everything they imply (transitively, each once, in order of
// first mention). An unknown name is a CtqError listing the registered presets.
std::vector<PresetRules> resolve_presets(const std::vector<std::string>& names,
                                         const Registry& registry);

// Reads FILE.json, validates it and registers it; returns the preset's name (to activate it).
std::string load_preset_file(Registry& registry, const std::filesystem::path& file);

// The first substring of `keys` that `key` contains, or nullptr.
const std::string* find_substring(const std::vector<std::string>& keys, const std::string& key);

}  // namespace ctq
