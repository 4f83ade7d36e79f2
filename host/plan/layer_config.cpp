#include "plan/layer_config.hpp"

#include "core/error.hpp"
#include "plan/tier_format.hpp"
#include "plan/user_regex.hpp"
#include "plugins/registry.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ctq {

namespace {

using Json = nlohmann::ordered_json;

struct EntryReader {
    const std::string& source;
    const std::string& key;
    const Registry& registry;

    [[noreturn]] void bad(const std::string& problem) const {
        fail(source, "", "layer config key '" + key + "': " + problem);
    }
    template <class T>
    std::optional<T> field(const Json& v, const char* name, bool (Json::*is)() const noexcept,
                           const char* expected) const {
        if (!v.contains(name)) return std::nullopt;
        if (!(v.at(name).*is)()) bad(std::string("\"") + name + "\" must be " + expected);
        return v.at(name).get<T>();
    }

    LayerConfigEntry read(const Json& v) const {
        static const char* const known[] = {"format",       "skip",   "block_size",
                                            "scaling_mode", "simple", "full_precision_matrix_mult"};
        if (!v.is_object()) bad("value must be a JSON object, found " + v.dump());
        for (const auto& item : v.items()) {
            const std::string& f = item.key();
            if (f.rfind('_', 0) == 0) continue;  // e.g. "_shape" from the template
            if (std::none_of(std::begin(known), std::end(known),
                             [&](const char* k) { return f == k; }))
                bad("unknown field \"" + f +
                    "\" (known: format, skip, block_size, scaling_mode, "
                    "simple, full_precision_matrix_mult)");
        }
        LayerConfigEntry e;
        e.pattern = key;
        e.skip = field<bool>(v, "skip", &Json::is_boolean, "true or false").value_or(false);
        e.simple = field<bool>(v, "simple", &Json::is_boolean, "true or false");
        e.full_precision_mm =
            field<bool>(v, "full_precision_matrix_mult", &Json::is_boolean, "true or false");
        const auto block = field<int64_t>(v, "block_size", &Json::is_number_integer, "an integer");
        if (block && *block <= 0) bad("\"block_size\" must be positive");
        e.block_size = block.value_or(0);
        const auto format = field<std::string>(v, "format", &Json::is_string, "a string");
        const auto mode = field<std::string>(v, "scaling_mode", &Json::is_string, "a string");
        if (e.skip) return e;
        if (!format || format->empty())
            bad("needs a \"format\" (one of: " + known_layouts(registry) + ") or \"skip\": true");
        const std::string context = source + ": layer config key '" + key + "'";
        e.layout = &require_layout(registry, *format, context);
        e.scaling_mode = layout_mode(*e.layout, mode.value_or(""), context);
        return e;
    }
};

}  // namespace

size_t pattern_literal_len(const std::string& pattern) {
    static const char kMeta[] = ".*+?^${}|\\";
    size_t n = 0;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(pattern[i]);
        if (c == '\\' && i + 1 < pattern.size()) {
            ++i;
            continue;
        }
        if (std::strchr(kMeta, c) && c != 0) continue;
        if ((c & 0xC0) != 0x80) ++n;  // count code points, as Python's len() does
    }
    return n;
}

int pattern_tier(const std::string& pattern) {
    return pattern.find("\\d") != std::string::npos && pattern_literal_len(pattern) >= 8 ? 0 : 1;
}

LayerConfig LayerConfig::load(const std::filesystem::path& file, const Registry& registry,
                              bool fullmatch) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), "", "cannot open layer config");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), file.string(), registry, fullmatch);
}

LayerConfig LayerConfig::parse(const std::string& json_text, const std::string& source,
                               const Registry& registry, bool fullmatch) {
    Json root;
    try {
        root = Json::parse(json_text);
    } catch (const std::exception& e) {
        fail(source, "", std::string("layer config is not valid JSON: ") + e.what());
    }
    if (!root.is_object()) fail(source, "", "layer config must be a JSON object");
    LayerConfig cfg;
    cfg.source_ = source;
    cfg.fullmatch_ = fullmatch;
    size_t order = 0;
    for (const auto& item : root.items()) {
        const std::string& key = item.key();
        if (key == "_default") {
            cfg.default_ = EntryReader{source, key, registry}.read(item.value());
            continue;
        }
        if (key.rfind('_', 0) == 0) continue;  // "_exclusions" and other notes
        LayerConfigEntry e = EntryReader{source, key, registry}.read(item.value());
        e.regex = compile_user_regex(key, source + ": layer config key '" + key + "'");
        e.tier = pattern_tier(key);
        e.literal_len = pattern_literal_len(key);
        e.order = order++;
        cfg.entries_.push_back(std::move(e));
    }
    std::stable_sort(cfg.entries_.begin(), cfg.entries_.end(),
                     [](const LayerConfigEntry& a, const LayerConfigEntry& b) {
                         if (a.tier != b.tier) return a.tier < b.tier;
                         return a.literal_len > b.literal_len;
                     });
    return cfg;
}

const LayerConfigEntry* LayerConfig::match(const std::string& base) const {
    for (const auto& e : entries_) {
        const bool hit =
            fullmatch_ ? std::regex_match(base, e.regex) : std::regex_search(base, e.regex);
        if (hit) return &e;
    }
    return nullptr;
}

}  // namespace ctq
