// ctq_optimizers: the reference's optimizers for the relaxation methods of learned rounding
// (`--optimizer adamw|radam|prodigy`; `original` is the host's own plain step).
#include "adam_family.hpp"
#include "prodigy.hpp"

namespace {

using ctq::optimizers::Options;

ctq::OptimizerState* make_adamw(const char* json, int64_t n) {
    return new ctq::optimizers::AdamW(Options("adamw", json, {"betas", "eps", "weight_decay"}), n);
}
ctq::OptimizerState* make_radam(const char* json, int64_t n) {
    return new ctq::optimizers::RAdam(Options("radam", json, {"betas", "eps", "weight_decay"}), n);
}
ctq::OptimizerState* make_prodigy(const char* json, int64_t n) {
    return new ctq::optimizers::Prodigy(
        Options("prodigy", json, {"betas", "beta3", "eps", "d0", "d_coef", "d_limiter", "weight_decay",
                                  "use_stableadamw", "use_speed"}),
        n);
}

}  // namespace

CTQ_PLUGIN("ctq_optimizers", "1.0", "AdamW, RAdam and Prodigy for learned rounding's relaxation") {
    static const ctq::Optimizer adamw("adamw", "AdamW as torch.optim (weight_decay 0.01 pulls toward RTN)", make_adamw);
    static const ctq::Optimizer radam("radam", "RAdam as torch.optim", make_radam);
    static const ctq::Optimizer prodigy("prodigy", "Prodigy d-adaptation (ProdigyPlusScheduleFree, schedule-free off)", make_prodigy);
    reg.add(adamw);
    reg.add(radam);
    reg.add(prodigy);
}
