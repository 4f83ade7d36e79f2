#include "adam_family.hpp"

#include <cmath>

namespace ctq::optimizers {

void Moments::update(const float* grad, int64_t n, double beta1, double beta2) {
    ++t;
    const auto b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (1 - b1) * grad[i];
        v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
    }
}

AdamW::AdamW(const Options& o, int64_t n)
    : eps_(o.number("eps", 1e-8)), weight_decay_(o.number("weight_decay", 0.01)), moments_(n) {
    std::tie(beta1_, beta2_) = o.betas(0.9, 0.999);
}

void AdamW::step(float* p, const float* grad, int64_t n, double lr) {
    if (weight_decay_ != 0) {
        const auto keep = static_cast<float>(1 - lr * weight_decay_);
        for (int64_t i = 0; i < n; ++i) p[i] *= keep;
    }
    moments_.update(grad, n, beta1_, beta2_);
    const double bc1 = 1 - std::pow(beta1_, static_cast<double>(moments_.t));
    const double bc2 = 1 - std::pow(beta2_, static_cast<double>(moments_.t));
    const auto step_size = static_cast<float>(lr / bc1);
    const auto inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(bc2));
    const auto eps = static_cast<float>(eps_);
    for (int64_t i = 0; i < n; ++i)
        p[i] -= step_size * moments_.m[i] / (std::sqrt(moments_.v[i]) * inv_sqrt_bc2 + eps);
}

RAdam::RAdam(const Options& o, int64_t n)
    : eps_(o.number("eps", 1e-8)), weight_decay_(o.number("weight_decay", 0.0)), moments_(n) {
    std::tie(beta1_, beta2_) = o.betas(0.9, 0.999);
}

void RAdam::step(float* p, const float* grad, int64_t n, double lr) {
    const float* g = grad;
    if (weight_decay_ != 0) {
        decayed_.resize(n);
        for (int64_t i = 0; i < n; ++i) decayed_[i] = grad[i] + static_cast<float>(weight_decay_) * p[i];
        g = decayed_.data();
    }
    moments_.update(g, n, beta1_, beta2_);
    const double t = static_cast<double>(moments_.t);
    const double bc1 = 1 - std::pow(beta1_, t), beta2_t = std::pow(beta2_, t), bc2 = 1 - beta2_t;
    const double rho_inf = 2 / (1 - beta2_) - 1;
    const double rho_t = rho_inf - 2 * t * beta2_t / bc2;
    const auto momentum_step = static_cast<float>(lr / bc1);
    if (rho_t <= 5) {  // variance not yet tractable: un-adapted momentum step
        for (int64_t i = 0; i < n; ++i) p[i] -= momentum_step * moments_.m[i];
        return;
    }
    const double rect = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                  ((rho_inf - 4) * (rho_inf - 2) * rho_t));
    const auto scale = static_cast<float>(lr / bc1 * rect * std::sqrt(bc2));
    const auto eps = static_cast<float>(eps_);
    for (int64_t i = 0; i < n; ++i) p[i] -= scale * moments_.m[i] / (std::sqrt(moments_.v[i]) + eps);
}

}  // namespace ctq::optimizers
