#include "inspect/block_groups.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace ctq {

namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t dot; (dot = s.find('.', start)) != std::string::npos; start = dot + 1)
        parts.push_back(s.substr(start, dot - start));
    parts.push_back(s.substr(start));
    return parts;
}

bool is_index(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string join(const std::vector<std::string>& parts, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? "." : "") + parts[i];
    return s;
}

// Where the block index sits in `parts` (the first numeric component after the first), or 0.
size_t index_position(const std::vector<std::string>& parts) {
    for (size_t i = 1; i + 1 < parts.size(); ++i)
        if (is_index(parts[i])) return i;
    return 0;
}

bool names_a_stack(const std::string& component) {
    return component.find("block") != std::string::npos ||
           component.find("layer") != std::string::npos;
}

// Leading components every key shares ("model.diffusion_model"), never a key's last component.
size_t common_prefix(const std::vector<TensorInfo>& tensors) {
    if (tensors.empty()) return 0;
    std::vector<std::string> first = split(tensors.front().name);
    size_t n = first.size() - 1;
    for (const auto& t : tensors) {
        const auto parts = split(t.name);
        n = std::min(n, parts.size() - 1);
        for (size_t i = 0; i < n; ++i)
            if (parts[i] != first[i]) n = i;
    }
    return n;
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) &&
            std::isdigit(static_cast<unsigned char>(b[j]))) {
            size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
            const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
            if (na.size() != nb.size()) return na.size() < nb.size();  // no leading zeros in keys
            if (na != nb) return na < nb;
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

std::vector<TensorGroup> group_tensors(const std::vector<TensorInfo>& tensors) {
    std::map<std::string, std::set<std::string>> indices;  // stack prefix -> indices seen
    for (const auto& t : tensors) {
        const auto parts = split(t.name);
        if (size_t i = index_position(parts)) indices[join(parts, i)].insert(parts[i]);
    }
    const size_t shared = common_prefix(tensors);
    std::map<std::string, TensorGroup> groups;
    for (const auto& t : tensors) {
        const auto parts = split(t.name);
        const size_t i = index_position(parts);
        const std::string stack = i ? join(parts, i) : "";
        const bool block = i && (indices[stack].size() >= 2 || names_a_stack(parts[i - 1]));
        const std::string name = block ? join(parts, i + 1) : join(parts, shared + 1);
        TensorGroup& g = groups[name];
        g.name = name;
        g.is_block = block;
        g.stack = block ? stack : "";
        g.tensors.push_back(&t);
        g.bytes += t.nbytes();
    }
    std::vector<TensorGroup> out;
    for (auto& [name, g] : groups) {
        std::sort(g.tensors.begin(), g.tensors.end(), [](const TensorInfo* a, const TensorInfo* b) {
            return natural_less(a->name, b->name);
        });
        out.push_back(std::move(g));
    }
    std::sort(out.begin(), out.end(), [](const TensorGroup& a, const TensorGroup& b) {
        return natural_less(a.name, b.name);
    });
    return out;
}

bool same_structure(const TensorGroup& a, const TensorGroup& b) {
    if (a.tensors.size() != b.tensors.size()) return false;
    for (size_t i = 0; i < a.tensors.size(); ++i) {
        const TensorInfo &x = *a.tensors[i], &y = *b.tensors[i];
        if (x.name.substr(a.name.size()) != y.name.substr(b.name.size()) || x.dtype != y.dtype ||
            x.shape != y.shape)
            return false;
    }
    return true;
}

}  // namespace ctq
