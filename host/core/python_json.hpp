// JSON text exactly as Python's json.dumps writes it with default arguments (", " and ": "
// separators, ensure_ascii), because the reference's .comfy_quant bytes and
// _quantization_metadata strings are compared byte for byte by users' tooling and our tests.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ctq {

std::string python_json_dumps(const nlohmann::ordered_json& j);

}  // namespace ctq
