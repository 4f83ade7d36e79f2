// The reference's improvement test, LR schedules and early stopping (REFERENCE 5.5-5.7) for
// the relaxation methods, as one small state machine (no LibTorch).
#pragma once

#include "engine/learned_rounding.hpp"

#include <cstdint>

namespace ctq::engine {

class LrSchedule {
public:
    // rows, cols: the weight's shape (plateau and adaptive rules depend on its aspect ratio).
    // prodigy: hold the plateau counter and skip exponential decay for the first 50
    // iterations, while Prodigy estimates its step size (REFERENCE 5.6, pitfall 12).
    LrSchedule(const LearnedOptions& opt, int64_t rows, int64_t cols, bool prodigy);

    // One iteration: the improvement test on `loss`, then the schedule. Returns whether the
    // loss improved on the best so far (the caller snapshots its parameters then).
    bool observe(int64_t iter, double loss);

    // REFERENCE 5.7 on `loss` (the current loss for `original`, the best for the others).
    bool should_stop(double loss) const;

    double lr() const { return lr_; }
    double best() const { return best_; }
    double plateau_factor() const { return plateau_factor_; }

private:
    const LearnedOptions& opt_;
    bool prodigy_;
    double shape_ratio_;     // |M - N| / max(M, N), for the adaptive rule
    double plateau_factor_;  // f + (f^sqrt(AR) - f) * lr_shape_influence
    double lr_, best_;
    int64_t worse_ = 0, prev_worse_ = 0, plateau_ = 0, cooldown_ = 0;

    bool improved(double loss) const;
    void plateau_step(int64_t iter);
    void adaptive_step(int64_t iter, bool improved);
};

}  // namespace ctq::engine
