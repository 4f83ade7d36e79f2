// The --dry-run report: one line per tensor (action, tier, format, key, reason) and totals.
#pragma once

#include "plan/layer_plan.hpp"

#include <string>
#include <vector>

namespace ctq {

std::string format_plan_table(const std::vector<LayerPlan>& plans);

// "float8_e4m3fn", "int8_tensorwise/row", "float8_e4m3fn_blockwise bs128", "int8_tensorwise/row
// convrot256": what a quantized plan writes; "" for kept and dropped tensors.
std::string plan_format_label(const LayerPlan& plan);

}  // namespace ctq
