// Output file names chosen when -o is not given (REFERENCE_SPEC 1.2).
#pragma once

#include "plan/plan_options.hpp"

#include <string>

namespace ctq {

// {base}_{simple_|learned_}fp8{mixed}_{scaling_mode}.safetensors
// {base}_{simple_|learned_}int8{mixed}{_tensorwise|_rowwise|_bs<block_size>}.safetensors
// {base}_{simple_|learned_}{family}{mixed}.safetensors for other families (nvfp4, mxfp8)
// {base}_{simple_|learned_}{layout}{mixed}.safetensors when a layout is named directly.
// {base} is the input without its extension; "mixed" when a preset or --custom-layers is active.
std::string auto_output_name(const std::string& input, const PlanOptions& options);

// {base}_layer_config_template.json (--dry-run create-template).
std::string template_output_name(const std::string& input);

}  // namespace ctq
