// The reference's "bias correction with synthetic calibration data" (REFERENCE 6), only for
// `--bias-correction synthetic` (no LibTorch types here).
//
// Why it is off by default: X is i.i.d. N(0, 1), so mean_rows(X dW^T) = xbar dW^T with xbar the
// sample mean of n Gaussian rows: each entry of c is N(0, ||dW_m||^2 / n) with expectation
// zero. It removes no systematic bias (zero-mean inputs carry no information about real
// activation means) and adds noise of about 1/sqrt(n) of the per-sample output error (1.8 %
// for n = 3072). It exists to reproduce the reference when asked.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace ctq {

// One seeded CPU generator shared by all layers; X for an in_features value is drawn the first
// time that value is requested, so call it in file key order to match the reference.
class SyntheticCalibration {
public:
    SyntheticCalibration(uint64_t seed, int64_t samples);
    ~SyntheticCalibration();
    SyntheticCalibration(const SyntheticCalibration&) = delete;
    SyntheticCalibration& operator=(const SyntheticCalibration&) = delete;

    int64_t samples() const { return samples_; }
    // X: F32 [samples, in_features], row-major, valid while this object lives.
    const std::vector<float>& inputs(int64_t in_features);

    // c = mean over rows of X (W - W_dq)^T, length rows. The new bias is b - c (in the bias's
    // own dtype). w, w_dq: F32 [rows, in_features].
    std::vector<float> correction(const float* w, const float* w_dq, int64_t rows, int64_t in_features);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int64_t samples_;
};

}  // namespace ctq
