// How well each registered preset fits a model, for `ctq inspect`.
#pragma once

#include "io/tensor_info.hpp"

#include <string>
#include <vector>

namespace ctq {

class Registry;

struct PresetFit {
    std::string name;
    size_t substrings = 0;          // distinct exclude/highprec/remove substrings the preset lists
    size_t substrings_found = 0;    // ... that occur in at least one key
    size_t matched_keys = 0;        // keys containing any of them (the reference's "score")
    std::vector<std::string> kept;  // candidate weights the preset would keep in high precision
    std::vector<std::string> removed;  // keys it would drop

    // Layers it changes. Counting only candidate weights and removed keys keeps generic lists
    // ("norm", "bias") from scoring on the biases and norms of every model.
    size_t score() const { return kept.size() + removed.size(); }
};

// Presets with a non-zero score, best first (score, then the share of their substrings found).
// Presets without substrings (generic_text) are left out.
std::vector<PresetFit> rank_presets(const std::vector<TensorInfo>& tensors,
                                    const Registry& registry);

}  // namespace ctq
