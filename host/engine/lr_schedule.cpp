#include "engine/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ctq::engine {

namespace {
constexpr int64_t kProdigyWarmup = 50;
constexpr double kPi = 3.14159265358979323846;
}  // namespace

LrSchedule::LrSchedule(const LearnedOptions& opt, int64_t rows, int64_t cols, bool prodigy)
    : opt_(opt), prodigy_(prodigy), lr_(opt.lr), best_(std::numeric_limits<double>::infinity()) {
    const double hi = static_cast<double>(std::max(rows, cols));
    const double lo = static_cast<double>(std::max<int64_t>(1, std::min(rows, cols)));
    shape_ratio_ = std::abs(static_cast<double>(rows - cols)) / hi;
    const double f = opt.lr_factor;
    plateau_factor_ = f + (std::pow(f, std::sqrt(hi / lo)) - f) * opt.lr_shape_influence;
}

bool LrSchedule::improved(double loss) const {
    if (opt_.lr_threshold == 0) return loss < best_;
    if (opt_.lr_threshold_mode == "abs") return best_ - loss > opt_.lr_threshold;
    return loss < best_ * (1 - opt_.lr_threshold);
}

bool LrSchedule::observe(int64_t iter, double loss) {
    const bool better = improved(loss);
    if (better) {
        prev_worse_ = worse_;
        best_ = loss;
        plateau_ = 0;
        // 'no-reset' keeps counting across improvements except inside the adaptive rule.
        if (opt_.lr_adaptive_mode == "simple-reset") worse_ = 0;
    } else {
        ++worse_;
        ++plateau_;
    }
    const bool warming_up = prodigy_ && iter < kProdigyWarmup;
    if (opt_.lr_schedule == "exponential") {
        if (!warming_up) lr_ = std::max(lr_ * opt_.lr_gamma, opt_.lr_min);
    } else if (opt_.lr_schedule == "plateau") {
        if (warming_up) plateau_ = 0;
        plateau_step(iter);
    } else {
        adaptive_step(iter, better);
    }
    return better;
}

void LrSchedule::plateau_step(int64_t) {
    if (cooldown_ > 0) {
        --cooldown_;
    } else if (plateau_ >= opt_.lr_patience) {
        if (lr_ > opt_.lr_min) {
            lr_ = std::max(lr_ * plateau_factor_, opt_.lr_min);
            cooldown_ = opt_.lr_cooldown;
        }
        plateau_ = 0;
    }
}

// The cosine "U-curve" rule: boosts after long droughts, decays gently right after progress.
void LrSchedule::adaptive_step(int64_t iter, bool better) {
    const int64_t counter = better ? prev_worse_ : worse_;
    const double t = std::min(static_cast<double>(counter) /
                                  static_cast<double>(std::max<int64_t>(opt_.early_stop_stall, 1)),
                              1.0);
    const double u = (1 + std::cos(2 * kPi * t)) / 2;
    if (better) {
        lr_ = std::min(lr_ * (1 + 0.25 * (1 + 0.5 * shape_ratio_) * (1 - u)), 100.0);
        worse_ = 0;
    } else if (iter % std::max<int64_t>(opt_.lr_cooldown, 1) == 0) {
        const double m = opt_.lr_factor - 0.03 * shape_ratio_;
        lr_ = std::max(lr_ * (m + (0.995 - m) * u), opt_.early_stop_lr);
    }
}

bool LrSchedule::should_stop(double loss) const {
    return loss <= opt_.early_stop_loss || lr_ <= opt_.early_stop_lr ||
           worse_ > opt_.early_stop_stall;
}

}  // namespace ctq::engine
