#include "engine/engine_api.hpp"

#include "engine/bias_correction.hpp"
#include "engine/quality.hpp"

namespace ctq {
namespace {

class SyntheticBiasCalibration : public BiasCalibration {
public:
    SyntheticBiasCalibration(uint64_t seed, int64_t samples) : impl_(seed, samples) {}
    std::vector<float> correction(const float* w, const float* w_dq, int64_t rows, int64_t cols) override {
        return impl_.correction(w, w_dq, rows, cols);
    }

private:
    SyntheticCalibration impl_;
};

std::unique_ptr<BiasCalibration> make_synthetic(uint64_t seed, int64_t samples) {
    return std::make_unique<SyntheticBiasCalibration>(seed, samples);
}

const EngineApi kApi = {&learn_rounding, &validate, &relative_subspace_error, &learned_rank, &make_synthetic};

}  // namespace
}  // namespace ctq

extern "C" __attribute__((visibility("default"))) const ctq::EngineApi* ctq_engine_api() { return &ctq::kApi; }
