// --layer-config FILE.json (REFERENCE_SPEC 7.1): per-layer formats chosen by regex.
//
//   { "_default": {"format": "float8_e4m3fn"},
//     "double_blocks\\.\\d+\\.img_mod": {"skip": true},
//     "txt_in": {"format": "int8_tensorwise", "scaling_mode": "row", "simple": true} }
//
// Patterns are matched against the layer's base name (key without ".weight") with a search, or
// a full match under --fullmatch. Among matching patterns the most specific wins: ordered by
// (tier, longest literal) with ties in file order, exactly as the reference ranks them (see
// pattern_tier / pattern_literal_len).
//
// "format" names a layout directly ("float8_e4m3fn_rowwise" is that layout; "int8_tensorwise"
// with "scaling_mode": "row" is per-row INT8). Without "scaling_mode" the layout's first listed
// mode is used, never the global --scaling_mode (the reference's mislabelled layers, defect 7).
// An unknown format is an error, never silently FP8.
//
// `_default` (our decision, reference defect 7): it replaces the *primary* format only. Removal,
// --custom-layers, --exclude-layers and model presets still apply to layers no pattern matches;
// in the reference a `_default` made every layer "config" and silently disabled all of them.
// Other keys starting with '_' (e.g. the template's "_exclusions") are ignored, as are fields
// starting with '_' inside an entry (e.g. "_shape"); any other unknown field is an error.
//
// Regexes are ECMAScript (std::regex), not Python `re`: see plan/user_regex.hpp.
#pragma once

#include <ctq/ctq_plugin.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace ctq {

class Registry;

struct LayerConfigEntry {
    std::string pattern;  // as written; "_default" for the default entry
    bool skip = false;
    const ctq_layout_desc* layout = nullptr;  // null when skip
    ctq_scaling_mode scaling_mode = CTQ_SCALING_TENSOR;
    int64_t block_size = 0;  // 0: not given
    std::optional<bool> simple;
    std::optional<bool> full_precision_mm;
    int tier = 1;
    size_t literal_len = 0;
    size_t order = 0;  // position in the file
    std::regex regex;  // the compiled pattern (empty for the default entry)
};

class LayerConfig {
public:
    // Reads and validates the whole file up front: bad JSON, bad regex, unknown format or
    // scaling mode, wrong field types are CtqErrors naming the file and the key.
    static LayerConfig load(const std::filesystem::path& file, const Registry& registry,
                            bool fullmatch);
    static LayerConfig parse(const std::string& json_text, const std::string& source,
                             const Registry& registry, bool fullmatch);

    // The most specific pattern entry matching `base`, or nullptr (the default is not returned).
    const LayerConfigEntry* match(const std::string& base) const;
    const LayerConfigEntry* default_entry() const { return default_ ? &*default_ : nullptr; }
    const std::string& source() const { return source_; }
    bool fullmatch() const { return fullmatch_; }

private:
    std::string source_;
    bool fullmatch_ = false;
    std::vector<LayerConfigEntry> entries_;  // most specific first
    std::optional<LayerConfigEntry> default_;
};

// The reference's specificity measures. literal_len: the pattern's length after deleting every
// backslash escape pair and every character of . * + ? ^ $ { } | \ (so literal digits count as
// letters). tier: 0 when the pattern contains "\d" and literal_len >= 8, else 1.
size_t pattern_literal_len(const std::string& pattern);
int pattern_tier(const std::string& pattern);

}  // namespace ctq
