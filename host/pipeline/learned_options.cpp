#include "pipeline/learned_options.hpp"

namespace ctq {

LearnedOptions to_learned_options(const ConvertOptions& o) {
    const LearnedCli& l = o.learned;
    LearnedOptions r;
    r.method = l.optimizer;
    r.num_iter = l.num_iter;
    r.lr = l.lr;
    r.lr_schedule = l.lr_schedule;
    r.top_p = l.top_p;
    r.min_k = l.min_k;
    r.max_k = l.max_k;
    r.full_matrix = l.full_matrix;
    if (l.full_error_weight) r.full_error_weight = *l.full_error_weight;
    r.max_full_ratio = l.max_full_ratio;
    r.subspace_bound = l.subspace_bound;
    r.seed = static_cast<uint64_t>(o.manual_seed);
    r.device = o.device;
    r.lr_gamma = l.lr_gamma;
    r.lr_factor = l.lr_factor;
    r.lr_min = l.lr_min;
    r.lr_threshold = l.lr_threshold;
    r.lr_patience = l.lr_patience;
    r.lr_cooldown = l.lr_cooldown;
    r.lr_threshold_mode = l.lr_threshold_mode;
    r.lr_adaptive_mode = l.lr_adaptive_mode;
    r.lr_shape_influence = l.lr_shape_influence;
    r.early_stop_loss = l.early_stop_loss;
    r.early_stop_lr = l.early_stop_lr;
    r.early_stop_stall = l.early_stop_stall;
    r.use_speed = l.use_speed;
    return r;
}

}  // namespace ctq
