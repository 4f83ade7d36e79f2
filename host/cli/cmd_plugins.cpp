#include "cli/commands.hpp"
#include "plugins/registry.hpp"

#include <ctq/dtype.hpp>

#include <cstdio>

namespace ctq {

namespace {
std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "-" : s;
}
}  // namespace

int cmd_plugins(const std::vector<std::string>&, Registry& registry) {
    for (const auto& p : registry.plugins()) {
        std::printf("%s %s  (%s)\n  %s\n", p.name.c_str(), p.version.c_str(), p.file.string().c_str(),
                    p.description.c_str());
        std::printf("  layouts:    %s\n  optimizers: %s\n  presets:    %s\n", join(p.layouts).c_str(),
                    join(p.optimizers).c_str(), join(p.presets).c_str());
    }
    if (!registry.layouts().empty()) std::printf("\nLayouts:\n");
    for (const auto* l : registry.layouts())
        std::printf("  %-26s %-5s modes %-12s stores %-8s %s%s\n", l->name, l->family, l->scaling_modes,
                    dtype_name(l->storage_dtype),
                    (l->flags & CTQ_LAYOUT_COMFY_NATIVE) ? "[stock ComfyUI] " : "[custom node] ",
                    l->description ? l->description : "");
    for (const auto& f : registry.failures())
        std::printf("\nnot loaded: %s\n  reason: %s\n", f.file.string().c_str(), f.reason.c_str());
    if (registry.plugins().empty()) std::printf("no plugins found\n");
    return registry.failures().empty() ? 0 : 2;
}

}  // namespace ctq
