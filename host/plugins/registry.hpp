// Loads plugins (shared libraries with a C entry point) and keeps what they register: layouts,
// optimizers and model presets. A plugin that fails to load, lacks the entry symbol or was built
// for another ABI version is recorded as a failure with the reason, and the others still load.
#pragma once

#include <ctq/ctq_plugin.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ctq {

struct PluginRecord {
    std::filesystem::path file;
    std::string name, version, description;
    std::vector<std::string> layouts, optimizers, presets;
};

struct PluginFailure {
    std::filesystem::path file;
    std::string reason;
};

class Registry {
public:
    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // The folders searched by default, in order: --plugin-dir values, CTQ_PLUGIN_PATH entries
    // (':'-separated), then `plugins/` next to the executable.
    static std::vector<std::filesystem::path> default_dirs(
        const std::vector<std::filesystem::path>& extra_dirs);

    void load_dirs(const std::vector<std::filesystem::path>& dirs);
    void load_dir(const std::filesystem::path& dir);
    // Returns false (and records a failure) when the file is not a usable plugin.
    bool load_file(const std::filesystem::path& file);

    // Presets may also come from JSON files (--preset FILE.json); `source` names the origin. A
    // file replaces a plugin's preset of the same name; two files with one name are an error.
    void add_preset_json(const std::string& rules_json, const std::string& source);

    const ctq_layout_desc* layout(std::string_view name) const;
    // The layout of a family serving a scaling mode ("fp8" + "row" -> float8_e4m3fn_rowwise).
    const ctq_layout_desc* layout_for(std::string_view family, std::string_view mode) const;
    const ctq_optimizer_desc* optimizer(std::string_view name) const;
    const ctq_preset_desc* preset(std::string_view name) const;

    const std::vector<const ctq_layout_desc*>& layouts() const { return layouts_; }
    const std::vector<const ctq_optimizer_desc*>& optimizers() const { return optimizers_; }
    const std::vector<const ctq_preset_desc*>& presets() const { return presets_; }
    const std::vector<PluginRecord>& plugins() const { return plugins_; }
    const std::vector<PluginFailure>& failures() const { return failures_; }

    // Implementation detail of the C registrar callbacks.
    struct Loading;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<const ctq_layout_desc*> layouts_;
    std::vector<const ctq_optimizer_desc*> optimizers_;
    std::vector<const ctq_preset_desc*> presets_;
    std::vector<PluginRecord> plugins_;
    std::vector<PluginFailure> failures_;
};

// Whether a comma list such as "tensor,row" contains `mode`.
bool lists_mode(const char* modes, std::string_view mode);

}  // namespace ctq
