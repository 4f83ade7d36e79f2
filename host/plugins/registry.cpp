#include "plugins/registry.hpp"

#include "core/error.hpp"
#include "plan/preset_rules.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <sstream>

namespace ctq {

namespace fs = std::filesystem;

namespace {

// Owned copy of a preset that came from a JSON file rather than a plugin.
struct OwnedPreset {
    std::string name, help, category, rules;
    ctq_preset_desc desc{};
};

void host_log(void*, int32_t level, const char* message) {
    if (level >= CTQ_LOG_WARNING) std::fprintf(stderr, "%s\n", message);
}

bool is_shared_library(const fs::path& p) {
    const auto ext = p.extension().string();
    return ext == ".so" || ext == ".dylib" || ext == ".dll";
}

}  // namespace

struct Registry::Impl {
    std::vector<boost::dll::shared_library> libraries;  // kept loaded while descriptors live
    std::deque<OwnedPreset> json_presets;
    ctq_host_api host{};
};

// State shared with the registrar callbacks while one plugin's entry point runs.
struct Registry::Loading {
    Registry* registry;
    PluginRecord record;
    auto& layouts() { return registry->layouts_; }
    auto& optimizers() { return registry->optimizers_; }
    auto& presets() { return registry->presets_; }
};

namespace {

template <class Desc>
bool has_name(const std::vector<const Desc*>& v, const char* name) {
    return std::any_of(v.begin(), v.end(), [&](const Desc* d) { return std::string(d->name) == name; });
}

int32_t reject(ctq_error* err, const std::string& what) {
    std::snprintf(err->message, sizeof(err->message), "%s", what.c_str());
    return CTQ_ERR_INVALID_ARGUMENT;
}

int32_t add_layout(void* ctx, const ctq_layout_desc* d, ctq_error* err) {
    auto* l = static_cast<Registry::Loading*>(ctx);
    if (!d || d->struct_size < sizeof(ctq_layout_desc) || !d->name || !d->family ||
        !d->scaling_modes || !d->output_specs || !d->comfy_quant_json || !d->quantize ||
        !d->dequantize)
        return reject(err, "layout descriptor incomplete");
    if (has_name(l->layouts(), d->name))
        return reject(err, std::string("layout '") + d->name + "' registered twice");
    l->layouts().push_back(d);
    l->record.layouts.push_back(d->name);
    return CTQ_OK;
}

int32_t add_optimizer(void* ctx, const ctq_optimizer_desc* d, ctq_error* err) {
    auto* l = static_cast<Registry::Loading*>(ctx);
    if (!d || d->struct_size < sizeof(ctq_optimizer_desc) || !d->name || !d->create || !d->step ||
        !d->destroy)
        return reject(err, "optimizer descriptor incomplete");
    if (has_name(l->optimizers(), d->name))
        return reject(err, std::string("optimizer '") + d->name + "' registered twice");
    l->optimizers().push_back(d);
    l->record.optimizers.push_back(d->name);
    return CTQ_OK;
}

int32_t add_preset(void* ctx, const ctq_preset_desc* d, ctq_error* err) {
    auto* l = static_cast<Registry::Loading*>(ctx);
    if (!d || d->struct_size < sizeof(ctq_preset_desc) || !d->name || !d->rules_json)
        return reject(err, "preset descriptor incomplete");
    if (has_name(l->presets(), d->name))
        return reject(err, std::string("preset '") + d->name + "' registered twice");
    l->presets().push_back(d);
    l->record.presets.push_back(d->name);
    return CTQ_OK;
}

int32_t set_info(void* ctx, const char* name, const char* version, const char* description) {
    auto* l = static_cast<Registry::Loading*>(ctx);
    l->record.name = name ? name : "";
    l->record.version = version ? version : "";
    l->record.description = description ? description : "";
    return CTQ_OK;
}

}  // namespace

Registry::Registry() : impl_(std::make_unique<Impl>()) {
    impl_->host.struct_size = sizeof(ctq_host_api);
    impl_->host.abi_version = CTQ_ABI_VERSION;
    impl_->host.log = &host_log;
}

Registry::~Registry() {
    // Descriptors point into the libraries: forget them before unloading.
    layouts_.clear();
    optimizers_.clear();
    presets_.clear();
}

std::vector<fs::path> Registry::default_dirs(const std::vector<fs::path>& extra_dirs) {
    std::vector<fs::path> dirs(extra_dirs);
    if (const char* env = std::getenv("CTQ_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string item;
        while (std::getline(ss, item, ':'))
            if (!item.empty()) dirs.emplace_back(item);
    }
    std::error_code ec;
    const auto exe = boost::dll::program_location(ec);
    if (!ec) dirs.push_back(fs::path(exe.parent_path().string()) / "plugins");
    return dirs;
}

void Registry::load_dirs(const std::vector<fs::path>& dirs) {
    for (const auto& d : dirs) load_dir(d);
}

void Registry::load_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && is_shared_library(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());  // deterministic registration order
    for (const auto& f : files) load_file(f);
}

bool Registry::load_file(const fs::path& file) {
    const auto canonical = fs::weakly_canonical(file);
    for (const auto& p : plugins_)
        if (p.file == canonical) return true;  // same library reached through two folders
    auto failed = [&](const std::string& why) {
        failures_.push_back({canonical, why});
        return false;
    };
    boost::dll::shared_library lib;
    std::error_code ec;
    lib.load(boost::dll::fs::path(canonical.string()), boost::dll::load_mode::rtld_lazy |
                                                           boost::dll::load_mode::rtld_local, ec);
    if (ec) return failed("cannot load: " + ec.message());
    if (!lib.has(CTQ_ABI_VERSION_SYMBOL) || !lib.has(CTQ_ENTRY_SYMBOL))
        return failed(std::string("not a ctq plugin: missing symbol '") +
                      (lib.has(CTQ_ABI_VERSION_SYMBOL) ? CTQ_ENTRY_SYMBOL : CTQ_ABI_VERSION_SYMBOL) +
                      "'");
    const uint32_t abi = lib.get<uint32_t()>(CTQ_ABI_VERSION_SYMBOL)();
    if (abi != CTQ_ABI_VERSION)
        return failed("built for plugin ABI version " + std::to_string(abi) +
                      ", this ctq speaks version " + std::to_string(CTQ_ABI_VERSION) +
                      ": rebuild the plugin against this SDK");

    // Register into scratch copies so a plugin failing halfway leaves nothing behind.
    const auto saved_layouts = layouts_;
    const auto saved_optimizers = optimizers_;
    const auto saved_presets = presets_;
    Loading loading{this, PluginRecord{}};
    loading.record.file = canonical;
    ctq_registrar reg{sizeof(ctq_registrar), &loading, &add_layout, &add_optimizer, &add_preset,
                      &set_info};
    ctq_error err{};
    const int32_t status = lib.get<int32_t(const ctq_host_api*, const ctq_registrar*, ctq_error*)>(
        CTQ_ENTRY_SYMBOL)(&impl_->host, &reg, &err);
    if (status != CTQ_OK) {
        layouts_ = saved_layouts;
        optimizers_ = saved_optimizers;
        presets_ = saved_presets;
        return failed("registration failed: " + std::string(err.message));
    }
    if (loading.record.name.empty()) loading.record.name = canonical.stem().string();
    plugins_.push_back(std::move(loading.record));
    impl_->libraries.push_back(std::move(lib));
    return true;
}

void Registry::add_preset_json(const std::string& rules_json, const std::string& source) {
    // The whole schema is checked now, so a bad file is reported with its name at load time.
    const PresetRules rules = parse_preset_rules(rules_json, source);
    OwnedPreset& p = impl_->json_presets.emplace_back();
    p.name = rules.name;
    p.help = rules.help.empty() ? "preset from " + source : rules.help;
    p.category = rules.category.empty() ? "file" : rules.category;
    p.rules = rules_json;
    p.desc = ctq_preset_desc{sizeof(ctq_preset_desc), p.name.c_str(), p.help.c_str(),
                             p.category.c_str(), p.rules.c_str()};
    // A file may replace a compiled preset of the same name (that is how a user adjusts one
    // without compiling); two files defining one name is a mistake.
    for (auto& existing : presets_) {
        if (p.name != existing->name) continue;
        const bool from_file = std::any_of(impl_->json_presets.begin(), impl_->json_presets.end() - 1,
                                           [&](const OwnedPreset& o) { return &o.desc == existing; });
        if (from_file) {
            const std::string name = p.name;
            impl_->json_presets.pop_back();
            fail(source, "", "preset '" + name + "' is already defined by another preset file");
        }
        existing = &p.desc;
        return;
    }
    presets_.push_back(&p.desc);
}

const ctq_layout_desc* Registry::layout(std::string_view name) const {
    for (auto* d : layouts_)
        if (name == d->name) return d;
    return nullptr;
}

const ctq_layout_desc* Registry::layout_for(std::string_view family, std::string_view mode) const {
    for (auto* d : layouts_)
        if (family == d->family && lists_mode(d->scaling_modes, mode)) return d;
    return nullptr;
}

const ctq_optimizer_desc* Registry::optimizer(std::string_view name) const {
    for (auto* d : optimizers_)
        if (name == d->name) return d;
    return nullptr;
}

const ctq_preset_desc* Registry::preset(std::string_view name) const {
    for (auto* d : presets_)
        if (name == d->name) return d;
    return nullptr;
}

bool lists_mode(const char* modes, std::string_view mode) {
    std::string_view all(modes ? modes : "");
    while (!all.empty()) {
        const auto comma = all.find(',');
        if (all.substr(0, comma) == mode) return true;
        if (comma == std::string_view::npos) break;
        all.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace ctq
