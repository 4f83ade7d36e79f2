// What the safetensors header says about one tensor.
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ctq {

struct TensorInfo {
    std::string name;
    ctq_dtype dtype = CTQ_DTYPE_F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets relative to the start of the data section
    uint64_t end = 0;

    uint64_t nbytes() const { return end - begin; }
    uint64_t numel() const {
        uint64_t n = 1;
        for (int64_t d : shape) n *= static_cast<uint64_t>(d);
        return n;
    }
};

}  // namespace ctq
