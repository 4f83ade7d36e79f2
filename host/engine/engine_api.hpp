// The learned-rounding engine is a shared library of its own (libctq_engine.so, the only part of
// ctq that links LibTorch), loaded on first use: a round-to-nearest run never pays the second or
// more it takes to load LibTorch. This table is what the host calls through; no LibTorch types.
#pragma once

#include "engine/learned_rounding.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ctq {

// --bias_correction synthetic (see engine/bias_correction.hpp for why it is off by default).
class BiasCalibration {
public:
    virtual ~BiasCalibration() = default;
    // c = mean over rows of X (W - W_dq)^T; the new bias is b - c.
    virtual std::vector<float> correction(const float* w, const float* w_dq, int64_t rows, int64_t cols) = 0;
};

struct EngineApi {
    LearnedStats (*learn_rounding)(const LayoutOps&, const float* w, QuantizedLayer& q, const LearnedOptions&,
                                   const Registry&, const std::function<void(int64_t, double)>& progress);
    void (*validate)(const LearnedOptions&, const Registry&);
    double (*relative_subspace_error)(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t k,
                                      uint64_t seed, bool exact, const std::string& device);
    int64_t (*learned_rank)(int64_t rows, int64_t cols, double top_p, int64_t min_k, int64_t max_k);
    std::unique_ptr<BiasCalibration> (*make_bias_calibration)(uint64_t seed, int64_t samples);
};

}  // namespace ctq

// Exported by libctq_engine.so.
extern "C" const ctq::EngineApi* ctq_engine_api();
