#include "prodigy.hpp"

#include <algorithm>
#include <cmath>

namespace ctq::optimizers {

Prodigy::Prodigy(const Options& o, int64_t n)
    : eps_(o.number("eps", 1e-8)), d0_(o.number("d0", 1e-6)), d_coef_(o.number("d_coef", 1.0)),
      weight_decay_(o.number("weight_decay", 0.0)), d_limiter_(o.flag("d_limiter", true)),
      stableadamw_(o.flag("use_stableadamw", true)), use_speed_(o.flag("use_speed", false)),
      d_(0), m_(n, 0.0f), v_(n, 0.0f), update_(n, 0.0f) {
    std::tie(beta1_, beta2_) = o.betas(0.9, 0.99);
    beta3_ = o.number("beta3", std::sqrt(beta2_));
    if (!(d0_ > 0)) throw Error(CTQ_ERR_INVALID_ARGUMENT, "prodigy: d0 must be positive");
    d_ = d0_;
}

void Prodigy::moments_and_update(const float* grad, int64_t n) {
    const auto b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
    const auto d = static_cast<float>(d_), d2 = static_cast<float>(d_ * d_);
    const auto d_eps = static_cast<float>(d_ * eps_);
    double sum_sq = 0;
    for (int64_t i = 0; i < n; ++i) {
        v_[i] = b2 * v_[i] + (1 - b2) * d2 * grad[i] * grad[i];
        m_[i] = b1 * m_[i] + (1 - b1) * d * grad[i];
        update_[i] = m_[i] / (std::sqrt(v_[i]) + d_eps);
        sum_sq += static_cast<double>(update_[i]) * update_[i];
    }
    if (stableadamw_ && n > 0) {
        const double rms = std::max(std::sqrt(sum_sq / static_cast<double>(n)), 1.0);
        const auto shrink = static_cast<float>(1 / std::sqrt(rms));
        for (int64_t i = 0; i < n; ++i) update_[i] *= shrink;
    }
}

void Prodigy::accumulate_d_statistics(const float* p, const float* g, double* numerator, double* denom) {
    const int64_t sliced = static_cast<int64_t>(p0_.size());
    double dot = 0, l1 = 0, l2 = 0;
    for (int64_t s = 0; s < sliced; ++s) {
        const double diff = static_cast<double>(p0_[s]) - p[s * kSlice];
        dot += g[s * kSlice] * diff;
        l1 += std::abs(diff);
        l2 += diff * diff;
    }
    double d_update = d_ * d_ / std::sqrt(d0_);
    if (use_speed_) {
        const double beta = 1 - std::pow(static_cast<double>(k_), -0.75);
        dot = have_speed_dot_ ? speed_dot_ * beta + dot * (1 - beta) : dot;
        speed_dot_ = dot;
        have_speed_dot_ = true;
        max_l1_ = std::max(l1, max_l1_);
        max_l2_ = std::max(std::sqrt(l2), max_l2_);
        d_update /= (max_l2_ + 1) * (max_l2_ + 1);
        *denom = max_l2_;
        *numerator = d_update * dot / max_l1_;
        return;
    }
    double abs_sum = 0;
    for (int64_t s = 0; s < sliced; ++s) {
        s_[s] = static_cast<float>(beta3_ * s_[s] + d_update * g[s * kSlice]);
        abs_sum += std::abs(s_[s]);
    }
    *denom = abs_sum;
    *numerator = d_update * dot;
}

void Prodigy::next_d(double numerator_run, double denom_run) {
    prev_numerator_ = numerator_;
    numerator_ *= beta3_;
    if (d_ > d0_ || numerator_run > 0) numerator_ += numerator_run;
    max_numerator_ = std::max(numerator_, max_numerator_);
    if (use_speed_) {
        if (numerator_ >= max_numerator_ && numerator_ > 0 && prev_numerator_ > 0) {
            const double d_hat = std::min(std::pow(2.0, 0.25), std::sqrt(numerator_ / prev_numerator_));
            d_ = std::max(d_, d_ * d_hat * std::pow(d_coef_, 0.125));
        }
    } else if (denom_run > 0) {
        double d_hat = numerator_ / denom_run;
        if (d_limiter_) d_hat = std::min(d_ * std::pow(2.0, 0.25), d_hat);
        d_ = std::max(d_, d_hat * d_coef_);
    }
    ++k_;
}

void Prodigy::step(float* p, const float* grad, int64_t n, double lr) {
    if (p0_.empty() && n > 0) {  // the starting point, sliced like the library
        const int64_t sliced = (n + kSlice - 1) / kSlice;
        p0_.resize(sliced);
        s_.assign(sliced, 0.0f);
        for (int64_t s = 0; s < sliced; ++s) p0_[s] = p[s * kSlice];
    }
    const double dlr = d_ * lr;
    moments_and_update(grad, n);
    double numerator_run = 0, denom_run = 0;
    accumulate_d_statistics(p, grad, &numerator_run, &denom_run);
    if (weight_decay_ != 0) {
        const auto keep = static_cast<float>(1 - weight_decay_ * dlr);
        for (int64_t i = 0; i < n; ++i) p[i] *= keep;
    }
    const auto step_size = static_cast<float>(dlr);
    for (int64_t i = 0; i < n; ++i) p[i] -= step_size * update_[i];
    next_d(numerator_run, denom_run);
}

}  // namespace ctq::optimizers
