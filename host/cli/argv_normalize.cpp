#include "cli/argv_normalize.hpp"

#include <algorithm>
#include <map>

namespace ctq {

namespace {

// Spellings that are not a plain dash/underscore swap of the canonical name.
const std::map<std::string, std::string>& aliases() {
    static const std::map<std::string, std::string> table = {
        {"-fpmm", "--full_precision_matrix_mult"},
        {"-lm", "--low_memory"},
        {"-esloss", "--early_stop_loss"},
        {"-eslr", "--early_stop_lr"},
        {"-esstall", "--early_stop_stall"},
        {"-hl", "--help_learned"},
        {"-ha", "--help_advanced"},
        {"-he", "--help_experimental"},
        {"-hf", "--help_filters"},
        {"-hm", "--help_modes"},
        {"--group_size", "--block_size"},
        {"--custom_fpmm", "--custom_full_precision_mm"},
    };
    return table;
}

}  // namespace

std::vector<std::string> normalize_argv(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    out.reserve(args.size());
    bool positional_only = false;
    for (const auto& a : args) {
        if (positional_only || a.size() < 2 || a[0] != '-' || a == "--") {
            positional_only = positional_only || a == "--";
            out.push_back(a);
            continue;
        }
        const auto eq = a.find('=');
        std::string name = a.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : a.substr(eq);
        if (name.rfind("--", 0) == 0) std::replace(name.begin() + 2, name.end(), '-', '_');
        if (const auto it = aliases().find(name); it != aliases().end()) name = it->second;
        out.push_back(name + value);
    }
    return out;
}

}  // namespace ctq
