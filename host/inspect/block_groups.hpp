// Groups a model's tensors by block for `ctq inspect`: "double_blocks.0", "encoder.block.3", or
// for tensors outside repeated blocks the first name component after the prefix all keys share
// ("img_in", "model.diffusion_model.final_layer").
#pragma once

#include "io/tensor_info.hpp"

#include <string>
#include <vector>

namespace ctq {

struct TensorGroup {
    std::string name;   // "double_blocks.0", "img_in"
    std::string stack;  // "double_blocks" for a block, "" otherwise
    bool is_block = false;
    std::vector<const TensorInfo*> tensors;  // sorted by name (numbers compared as numbers)
    uint64_t bytes = 0;
};

// A numeric component makes a block when its prefix occurs with two or more indices, or the
// component before it contains "block" or "layer" (a stack of one). Groups come out in natural
// order: double_blocks.2 before double_blocks.10.
std::vector<TensorGroup> group_tensors(const std::vector<TensorInfo>& tensors);

// Natural order: digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b);

// Same relative names, dtypes and shapes: a block repeated.
bool same_structure(const TensorGroup& a, const TensorGroup& b);

}  // namespace ctq
