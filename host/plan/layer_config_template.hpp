// --dry-run create-template (REFERENCE_SPEC 7.1): a layer config to fill in, one entry per 2-D
// ".weight" with both dimensions >= 16, sorted by name, after "_default" and "_exclusions".
#pragma once

#include "io/tensor_info.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace ctq {

struct TemplateCounts {
    size_t written = 0, skipped_empty = 0, skipped_not_2d = 0, skipped_small = 0;
};

nlohmann::ordered_json create_template(const std::vector<TensorInfo>& tensors,
                                       TemplateCounts* counts = nullptr);

// The file text: 2-space indentation, as the reference's json.dump(indent=2).
std::string dump_template(const nlohmann::ordered_json& tmpl);

}  // namespace ctq
