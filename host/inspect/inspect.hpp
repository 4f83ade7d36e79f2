// `ctq inspect FILE`: what is in a model and which preset fits it (the CLI prints the text).
#pragma once

#include "inspect/block_groups.hpp"
#include "io/tensor_info.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ctq {

class Registry;

// The whole report for a file: summary, metadata keys, tensors by block, preset fit, suggestion.
std::string inspect_file(const std::filesystem::path& file, const Registry& registry);

// The report without the file-level lines (what inspect_file adds after its summary).
std::string inspect_tensors(const std::vector<TensorInfo>& tensors, const Registry& registry);

// The groups outside repeated blocks (embedders, *_in, final layers, top-level modulation) that
// hold 2-D float weights not in `handled` (what the best preset already keeps or drops), as a
// regex ready for --exclude-layers, e.g. ^(final_layer|img_in|time_in)\. — valid in Python `re`
// and ECMAScript alike. "" when there are none.
std::string suggest_exclude_regex(const std::vector<TensorGroup>& groups,
                                  const std::vector<std::string>& handled = {});


}  // namespace ctq
