#include "inspect/inspect.hpp"

#include "core/human_bytes.hpp"

#include "inspect/preset_fit.hpp"
#include "io/safetensors_reader.hpp"
#include "plan/planner.hpp"

#include <ctq/dtype.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace ctq {

namespace {

constexpr size_t kPresetsShown = 5;
constexpr size_t kNamesShown = 8;

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string escape_regex(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
        out += c;
    }
    return out;
}

bool has_unhandled_candidate(const TensorGroup& g, const std::vector<std::string>& handled) {
    for (const TensorInfo* t : g.tensors)
        if (structural_reason(*t).empty() &&
            std::find(handled.begin(), handled.end(), t->name) == handled.end())
            return true;
    return false;
}

std::string count(size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

void print_group(std::ostream& out, const TensorGroup& g) {
    out << g.name << "  (" << count(g.tensors.size(), "tensor") << ", " << human_bytes(g.bytes)
        << ")\n";
    for (const TensorInfo* t : g.tensors) {
        const std::string rel =
            t->name.size() > g.name.size() && t->name.rfind(g.name + ".", 0) == 0
                ? t->name.substr(g.name.size() + 1)
                : t->name;
        char line[512];
        std::snprintf(line, sizeof(line), "    %-44s %-8s %-16s %s\n", rel.c_str(),
                      dtype_name(t->dtype), shape_text(t->shape).c_str(),
                      human_bytes(t->nbytes()).c_str());
        out << line;
    }
}

void print_groups(std::ostream& out, const std::vector<TensorGroup>& groups) {
    for (size_t i = 0; i < groups.size();) {
        print_group(out, groups[i]);
        // Collapse the run of blocks identical to this one.
        size_t j = i + 1;
        while (j < groups.size() && groups[i].is_block && groups[j].stack == groups[i].stack &&
               same_structure(groups[i], groups[j]))
            ++j;
        if (j > i + 1)
            out << groups[i + 1].name << " .. " << groups[j - 1].name << "  (" << j - i - 1
                << " more blocks, same tensors as " << groups[i].name << ")\n";
        i = j;
    }
}

std::string first_names(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > kNamesShown)
        s += ", ... (" + std::to_string(names.size() - kNamesShown) + " more)";
    return s;
}

void print_presets(std::ostream& out, const std::vector<PresetFit>& fits) {
    out << "\nPresets that would change layers of this model (best first):\n";
    if (fits.empty()) out << "  none\n";
    for (size_t i = 0; i < fits.size() && i < kPresetsShown; ++i) {
        const PresetFit& f = fits[i];
        out << "  --" << f.name << "  keeps " << count(f.kept.size(), "weight")
            << " in high precision, removes " << count(f.removed.size(), "tensor") << " ("
            << f.substrings_found << " of its " << f.substrings << " substrings occur, in "
            << count(f.matched_keys, "key") << ")\n";
        if (!f.kept.empty()) out << "      keeps:   " << first_names(f.kept) << "\n";
        if (!f.removed.empty()) out << "      removes: " << first_names(f.removed) << "\n";
    }
}

}  // namespace

std::string suggest_exclude_regex(const std::vector<TensorGroup>& groups,
                                  const std::vector<std::string>& handled) {
    std::string alternatives;
    for (const auto& g : groups)
        if (!g.is_block && has_unhandled_candidate(g, handled))
            alternatives += (alternatives.empty() ? "" : "|") + escape_regex(g.name);
    return alternatives.empty() ? "" : "^(" + alternatives + ")\\.";
}

std::string inspect_tensors(const std::vector<TensorInfo>& tensors, const Registry& registry) {
    std::ostringstream out;
    const auto groups = group_tensors(tensors);
    print_groups(out, groups);

    size_t candidates = 0, quantized = 0;
    for (const auto& t : tensors) {
        if (structural_reason(t).empty()) ++candidates;
        if (t.name.size() > 12 && t.name.compare(t.name.size() - 12, 12, ".comfy_quant") == 0)
            ++quantized;
    }
    out << "\n"
        << candidates << " of " << tensors.size()
        << " tensors are 2-D float weights (quantization candidates)\n";
    if (quantized)
        out << "this file already holds " << quantized << " quantized layers (.comfy_quant)\n";

    const auto fits = rank_presets(tensors, registry);
    print_presets(out, fits);
    std::vector<std::string> handled;
    if (!fits.empty()) {
        const PresetFit& best = fits.front();
        out << "\nBest match: --" << best.name << "\n";
        handled = best.kept;
        handled.insert(handled.end(), best.removed.begin(), best.removed.end());
    }
    if (const std::string regex = suggest_exclude_regex(groups, handled); !regex.empty()) {
        out << "\n"
            << (fits.empty() ? std::string("No preset matches. Layers")
                             : "Layers that --" + fits.front().name + " still quantizes,")
            << " outside the repeated blocks (inputs, embedders,\nfinal layers and global "
               "modulation are "
               "usually kept in high precision):\n"
            << "  --exclude-layers \"" << regex << "\"\n";
    }
    return out.str();
}

std::string inspect_file(const std::filesystem::path& file, const Registry& registry) {
    const SafetensorsReader reader(file);
    std::map<std::string, size_t> dtypes;
    uint64_t bytes = 0;
    for (const auto& t : reader.tensors()) {
        ++dtypes[dtype_name(t.dtype)];
        bytes += t.nbytes();
    }
    std::ostringstream out;
    out << file.string() << ": " << reader.tensors().size() << " tensors, " << human_bytes(bytes)
        << " (";
    for (auto it = dtypes.begin(); it != dtypes.end(); ++it)
        out << (it == dtypes.begin() ? "" : ", ") << it->second << " " << it->first;
    out << ")\n";
    if (!reader.metadata().empty()) {
        out << "metadata:";
        for (const auto& [k, v] : reader.metadata()) out << " " << k;
        out << "\n";
    }
    out << "\n" << inspect_tensors(reader.tensors(), registry);
    return out.str();
}

}  // namespace ctq
