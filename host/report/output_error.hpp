// What a quantized layer does to its outputs (ctq verify --linear): weight error says little
// about y = x W^T, so a layer is also run on random activations with the original weight, the
// dequantized weight (what ComfyUI's weight-only path computes) and, for int8_blockwise, the
// real W8A8 block GEMM (activations quantized at run time, int32 accumulation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ctq {

struct QuantizedLayer;

struct OutputError {
    double weight_only = 0;             // ||x Wq^T - x W^T|| / ||x W^T||
    std::optional<double> int8_gemm;    // same, through the INT8 block GEMM
};

// x: `tokens` rows of N(0,1) drawn from `seed` (the same for every layer of one in_features).
OutputError output_error(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t tokens,
                         uint64_t seed, const std::string& format, const QuantizedLayer& q, int64_t block);

}  // namespace ctq
