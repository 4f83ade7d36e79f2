// Parsing and validation of a safetensors JSON header, apart from any file handling so that the
// reader and the fuzzers share exactly one set of rules.
#pragma once

#include "io/tensor_info.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ctq {

// Limits that keep hostile headers cheap to refuse. The header cap is the one huggingface
// safetensors uses; the depth cap is far above the 3 levels a valid header needs.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
inline constexpr int kMaxJsonDepth = 8;
inline constexpr uint64_t kMaxTensorCount = 10'000'000;

struct ParsedHeader {
    std::vector<TensorInfo> tensors;  // sorted by data offset
    std::map<std::string, std::string> metadata;
};

// Validates `json` (the header bytes, spaces allowed after the object) against a data section of
// `data_size` bytes: every tensor well formed, byte ranges contiguous, covering the data exactly.
// Throws CtqError prefixed with `file` (and the tensor where it applies).
ParsedHeader parse_safetensors_header(const std::string& file, const char* json, uint64_t json_size,
                                      uint64_t data_size);

// A tensor name as it may be shown in a message: control bytes escaped.
std::string printable_name(const std::string& name);

}  // namespace ctq
