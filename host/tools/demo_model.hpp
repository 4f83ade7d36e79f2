// Writes a synthetic Flux-like model for the demo, tests and benchmarks: the tensor names and
// shapes of a Flux transformer, weights with the structure of real ones (a decaying spectrum,
// noise, a few outlier input channels) so learned rounding has something to find. Streams to
// disk one tensor at a time, so a multi-GB model needs only a tensor's worth of memory.
#pragma once

#include <cstdint>
#include <string>

namespace ctq {

struct DemoModelOptions {
    int64_t hidden = 256;
    int64_t double_blocks = 1;
    int64_t single_blocks = 1;
    int64_t rank = 32;       // rank of the structured part of each weight
    std::string dtype = "BF16";
    uint64_t seed = 0;
};

struct DemoModelSummary {
    size_t tensors = 0;
    uint64_t parameters = 0;
    uint64_t bytes = 0;
};

DemoModelSummary write_demo_model(const std::string& path, const DemoModelOptions& options);

// The structured weight generator itself (row-major [rows, cols]), for tests and benchmarks.
void structured_weight(int64_t rows, int64_t cols, int64_t rank, uint64_t seed, float* out);

}  // namespace ctq
