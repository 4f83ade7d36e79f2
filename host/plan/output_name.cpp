#include "plan/output_name.hpp"

#include "plan/tier_format.hpp"

#include <filesystem>

namespace ctq {

namespace {

std::string without_extension(const std::string& input) {
    const std::filesystem::path p(input);
    return (p.parent_path() / p.stem()).string();
}

// The suffix that follows "int8{mixed}" (1.1 defaulting applies to the block size).
std::string int8_suffix(const TierFormat& f) {
    const ctq_scaling_mode mode =
        parse_scaling_mode(f.scaling_mode.empty() ? "tensor" : f.scaling_mode, "output name");
    if (mode == CTQ_SCALING_TENSOR) return "_tensorwise";
    if (mode == CTQ_SCALING_ROW) return "_rowwise";
    return "_bs" + std::to_string(default_block_size(f.block_size, 0, "int8", mode));
}

}  // namespace

std::string auto_output_name(const std::string& input, const PlanOptions& options) {
    const TierFormat& f = options.primary;
    const std::string method = f.simple ? "simple_" : "learned_";
    const std::string mixed =
        (!options.presets.empty() || !options.custom_layers.empty()) ? "mixed" : "";
    std::string name = without_extension(input) + "_" + method;
    if (!f.layout.empty())
        name += f.layout + mixed;
    else if (f.family == "fp8")
        name += "fp8" + mixed + "_" + (f.scaling_mode.empty() ? "tensor" : f.scaling_mode);
    else if (f.family == "int8")
        name += "int8" + mixed + int8_suffix(f);
    else
        name += f.family + mixed;
    return name + ".safetensors";
}

std::string template_output_name(const std::string& input) {
    return without_extension(input) + "_layer_config_template.json";
}

}  // namespace ctq
