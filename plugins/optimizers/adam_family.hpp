// AdamW and RAdam as in torch.optim (1.13 / 2.x defaults), on flat F32 CPU arrays.
#pragma once

#include "options.hpp"

#include <ctq/plugin.hpp>

#include <cstdint>
#include <vector>

namespace ctq::optimizers {

// Adam moments shared by both rules.
struct Moments {
    std::vector<float> m, v;
    int64_t t = 0;
    explicit Moments(int64_t n) : m(n, 0.0f), v(n, 0.0f) {}
    void update(const float* grad, int64_t n, double beta1, double beta2);
};

// torch.optim.AdamW: decoupled decay p *= 1 - lr*wd, then the bias-corrected Adam step.
// Defaults betas (0.9, 0.999), eps 1e-8, weight_decay 0.01 as PyTorch, which is what the
// reference gets. Defect 24: in learned rounding the parameter is the offset from RTN, so that
// decay pulls every offset back toward RTN each step; pass {"weight_decay": 0} to avoid it.
class AdamW : public OptimizerState {
public:
    AdamW(const Options& o, int64_t n);
    void step(float* param, const float* grad, int64_t n, double lr) override;

private:
    double beta1_, beta2_, eps_, weight_decay_;
    Moments moments_;
};

// torch.optim.RAdam (Liu et al. 2019): Adam with the variance rectification term; plain
// momentum steps while the approximated SMA length rho_t <= 5. weight_decay is L2 (added to
// the gradient), default 0, as in PyTorch.
class RAdam : public OptimizerState {
public:
    RAdam(const Options& o, int64_t n);
    void step(float* param, const float* grad, int64_t n, double lr) override;

private:
    double beta1_, beta2_, eps_, weight_decay_;
    Moments moments_;
    std::vector<float> decayed_;  // grad + wd * p when weight_decay != 0
};

}  // namespace ctq::optimizers
