// Prodigy (Mishchenko & Defazio 2023) as ProdigyPlusScheduleFree runs it with
// use_schedulefree=False (the reference's configuration): Adam-style moments scaled by the
// adaptive step size d, StableAdamW update scaling, d estimated from the sliced inner products
// of gradients with the distance travelled from the start.
//
// Per step k (defaults: betas (0.9, 0.99), beta3 = sqrt(beta2), d0 1e-6, d_coef 1, eps 1e-8,
// d_limiter on, weight_decay 0, use_stableadamw on, use_speed off):
//   v = b2 v + (1-b2) d^2 g^2;  m = b1 m + (1-b1) d g;  u = m / (sqrt(v) + d eps)
//   StableAdamW: u *= 1 / sqrt(max(rms(u), 1))
//   on every 11th element (the library's slicing): d_update = d^2 / sqrt(d0),
//     numerator_run += d_update * <g, p0 - p>,  s = beta3 s + d_update g,  denom_run = |s|_1
//   p -= d lr u   (decoupled decay first when weight_decay > 0: p *= 1 - wd d lr)
//   then numerator = beta3 numerator (+ numerator_run when d > d0 or numerator_run > 0),
//   d_hat = numerator / denom_run, limited to d 2^0.25, d = max(d, d_coef d_hat).
// use_speed replaces the ratio by the SPEED rule (momentum of the normalised inner product,
// d grows by at most 2^0.25 per step while the numerator keeps rising).
// Simplified: the parameter is a flat vector, so the second moment is not factored
// (factored=True needs the 2-D shape; Adafactor's factoring only approximates v); p0 and s are
// kept in F32 (the library stores them in BF16); no stochastic rounding (F32 parameters);
// prodigy_steps, split_groups, cautious/grams/adopt/orthograd/focus/atan2 are not offered.
#pragma once

#include "options.hpp"

#include <ctq/plugin.hpp>

#include <cstdint>
#include <vector>

namespace ctq::optimizers {

class Prodigy : public OptimizerState {
public:
    Prodigy(const Options& o, int64_t n);
    void step(float* param, const float* grad, int64_t n, double lr) override;
    double d() const { return d_; }

private:
    static constexpr int64_t kSlice = 11;
    double beta1_, beta2_, beta3_, eps_, d0_, d_coef_, weight_decay_;
    bool d_limiter_, stableadamw_, use_speed_;
    double d_, numerator_ = 0, prev_numerator_ = 0, max_numerator_ = 0;
    double speed_dot_ = 0, max_l1_ = 1e-8, max_l2_ = 1e-8;
    int64_t k_ = 1;
    bool have_speed_dot_ = false;
    std::vector<float> m_, v_, update_, p0_, s_;

    void moments_and_update(const float* grad, int64_t n);
    void accumulate_d_statistics(const float* param, const float* grad, double* numerator, double* denom);
    void next_d(double numerator_run, double denom_run);
};

}  // namespace ctq::optimizers
