// `ctq verify`: dequantizes every quantized layer of a file through the layout plugins and
// compares it with the original weights: full error, SNR, and the principal-subspace error
// that learned rounding targets. Works for any pair of files, ours or the reference's.
#pragma once

#include "report/layer_stats.hpp"

#include <string>
#include <vector>

namespace ctq {

class Registry;

struct VerifyOptions {
    std::string original, quantized;
    bool subspace = true;
    double top_p = 0.2;
    int64_t min_k = 256, max_k = 1280;
    uint64_t seed = 0;
    bool exact_subspace = false;  // --full_matrix: the exact SVD's U_k, V_k
    std::string device = "cpu";   // where the subspace SVDs run
    int64_t linear_tokens = 0;  // > 0: also the output error on this many random activation rows
};

struct VerifyResult {
    std::vector<LayerStats> layers;
    std::vector<std::string> problems;  // layers that could not be checked, and why
};

VerifyResult verify_files(const VerifyOptions& options, const Registry& registry);

}  // namespace ctq
