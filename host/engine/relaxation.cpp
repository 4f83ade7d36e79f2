// The reference's continuous learned rounding (REFERENCE 5.2-5.7), kept for comparison and for
// users who ask for an optimizer by name. It minimises L = ||U_k^T (X - W) V_k||_F over a
// continuous X that starts at RTN, then the caller rounds X onto the grid once and keeps the
// result only if the ROUNDED weights beat RTN (unlike the reference, which trusts the
// continuous loss). Gradient: dL/dX = U_k (P / ||P||) V_k^T.
//
// Parameters and steps, all in the dequantized domain through expand_scale's multiplier d:
//   original:              X <- X - lr * c * G,  c = 1 (FP8: a weight-space step, 5.4) or
//                          c = d / max(d) (INT8: one global preconditioner 127/amax, 5.4).
//   adamw / radam / prodigy (optimizer plugins): the parameter is delta in the quant domain,
//                          X = X_rtn + delta * d, so dL/d delta = G * d.
// One order of operations for every method: loss of the current parameters -> improvement
// test (snapshot of exactly those parameters: fixes defect 23, the reference snapshots one
// step late) -> LR schedule -> early stop -> step with the updated LR.
#include "core/error.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/problem.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <string>

namespace ctq::engine {

namespace {

// Owns one optimizer plugin state; the parameter and gradient cross as CPU F32 views.
class PluginOptimizer {
public:
    PluginOptimizer(const ctq_optimizer_desc& desc, const std::string& options, int64_t n)
        : desc_(desc), n_(n) {
        ctq_error err{};
        if (desc_.create(desc_.user, options.c_str(), n, &state_, &err) != CTQ_OK)
            fail("", "", std::string("optimizer '") + desc_.name + "': " + err.message);
    }
    ~PluginOptimizer() { if (state_) desc_.destroy(state_); }
    PluginOptimizer(const PluginOptimizer&) = delete;
    PluginOptimizer& operator=(const PluginOptimizer&) = delete;

    void step(torch::Tensor& param, const torch::Tensor& grad, double lr) {
        auto pv = view(param), gv = view(grad);
        ctq_error err{};
        if (desc_.step(state_, &pv, &gv, lr, &err) != CTQ_OK)
            fail("", "", std::string("optimizer '") + desc_.name + "' step: " + err.message);
    }

private:
    const ctq_optimizer_desc& desc_;
    int64_t n_;
    void* state_ = nullptr;
    ctq_tensor_view view(const torch::Tensor& t) const {
        ctq_tensor_view v{};
        v.data = t.data_ptr<float>();
        v.dtype = CTQ_DTYPE_F32;
        v.ndim = 1;
        v.shape[0] = n_;
        v.strides[0] = 1;
        v.device = ctq_device{CTQ_DEVICE_CPU, 0, nullptr};
        return v;
    }
};

std::string optimizer_options(const LearnedOptions& o) {
    auto j = nlohmann::json::parse(o.optimizer_options.empty() ? "{}" : o.optimizer_options);
    if (o.use_speed && !j.contains("use_speed")) j["use_speed"] = true;
    return j.dump();
}

struct Projection {
    torch::Tensor p;
    double norm;
};

Projection project(const Subspace& s, const torch::Tensor& e) {
    auto p = torch::matmul(torch::matmul(s.u.t(), e), s.v);
    return {p, std::sqrt(sum_squares(p))};
}

}  // namespace

torch::Tensor relax(const RoundingProblem& p, const LearnedOptions& o, const RelaxSetup& setup,
                    const Progress& progress, int64_t* iterations) {
    torch::NoGradGuard no_grad;
    *iterations = 0;
    if (!(p.rtn_subspace2 > 0)) return p.rtn;
    const bool original = setup.optimizer == nullptr;
    const bool prodigy = !original && std::strcmp(setup.optimizer->name, "prodigy") == 0;
    LrSchedule schedule(o, p.w.size(0), p.w.size(1), prodigy);

    auto x = p.rtn.clone();
    auto best = x.clone();
    const auto precondition = setup.global_preconditioner ? p.scale / p.scale.max()
                                                          : torch::ones_like(p.scale);
    std::unique_ptr<PluginOptimizer> optimizer;
    torch::Tensor delta;  // CPU F32, quant domain
    if (!original) {
        optimizer = std::make_unique<PluginOptimizer>(*setup.optimizer, optimizer_options(o),
                                                      p.w.numel());
        delta = torch::zeros({p.w.numel()}, torch::kFloat32);
    }

    for (int64_t iter = 0; iter < o.num_iter; ++iter) {
        *iterations = iter + 1;
        const auto proj = project(p.sub, x - p.w);
        if (schedule.observe(iter, proj.norm)) best.copy_(x);
        if (progress) progress(iter, proj.norm);
        if (schedule.should_stop(original ? proj.norm : schedule.best())) break;
        const auto g = torch::matmul(torch::matmul(p.sub.u, proj.p / std::max(proj.norm, 1e-20)),
                                     p.sub.v.t());
        if (original) {
            x.sub_(g * precondition, schedule.lr());
        } else {
            const auto grad = (g * p.scale).reshape({-1}).to(torch::kCPU).contiguous();
            optimizer->step(delta, grad, schedule.lr());
            x = p.rtn + delta.to(p.w.device()).view_as(p.w) * p.scale;
        }
    }
    return best;
}

}  // namespace ctq::engine
