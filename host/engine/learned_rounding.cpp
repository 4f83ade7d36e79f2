// learn_rounding: sets up the problem from the layout's grid operations, runs one method and
// keeps its result only if the codes it writes beat RTN (see learned_rounding.hpp).
#include "engine/learned_rounding.hpp"

#include "core/error.hpp"
#include "engine/problem.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ctq {

namespace {

using engine::RoundingProblem;

// Per-family facts of the relaxation's `original` step (REFERENCE 5.4).
struct FamilyTraits {
    const char* family;
    bool global_preconditioner;
};
constexpr FamilyTraits kFamilyTraits[] = {
    {"fp8", false},  // q -= lr * G * s per element: a plain weight-space step
    {"int8", true},  // q -= lr * G * 127 / amax(W): one step size for the tensor
};

bool global_preconditioner(const char* family) {
    for (const auto& t : kFamilyTraits)
        if (family && std::strcmp(t.family, family) == 0) return t.global_preconditioner;
    return false;
}

constexpr const char* kSchedules[] = {"adaptive", "exponential", "plateau"};

template <size_t N>
bool one_of(const std::string& v, const char* const (&list)[N]) {
    for (const char* s : list)
        if (v == s) return true;
    return false;
}

[[noreturn]] void bad_option(const std::string& what) { fail("", "", "learned rounding: " + what); }

torch::Device parse_device(const std::string& name) {
    try {
        torch::Device d(name);
        if (d.is_cuda() && !torch::cuda::is_available())
            bad_option("device '" + name + "' requested but this LibTorch has no usable CUDA device");
        return d;
    } catch (const c10::Error&) {
        bad_option("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
    }
}

torch::Tensor to_device(const std::vector<float>& v, int64_t rows, int64_t cols, torch::Device d) {
    return torch::from_blob(const_cast<float*>(v.data()), {rows, cols}, torch::kFloat32).to(d, false, true);
}

torch::Tensor to_device(const float* v, int64_t rows, int64_t cols, torch::Device d) {
    return torch::from_blob(const_cast<float*>(v), {rows, cols}, torch::kFloat32).to(d, false, true);
}

// CTQ_ENGINE_TRACE=1 prints where a layer's time goes (setup, SVD, method, judging).
void trace_phase(const char* phase, std::chrono::steady_clock::time_point since) {
    static const bool on = std::getenv("CTQ_ENGINE_TRACE") != nullptr;
    if (!on) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
    std::fprintf(stderr, "[engine] %-8s %.2f s\n", phase, s);
}

double sum_squares(const torch::Tensor& t) { return t.to(torch::kFloat64).pow(2).sum().item<double>(); }

// Onto the grid: the nearer of the two neighbours of x (bracket), ties to lo.
std::vector<float> nearest_on_grid(const LayoutOps& ops, const QuantizedLayer& q, const torch::Tensor& x) {
    const auto xc = x.to(torch::kCPU).contiguous();
    const int64_t n = xc.numel();
    std::vector<float> lo(n), hi(n), out(n);
    ops.bracket(xc.data_ptr<float>(), q, lo.data(), hi.data());
    const float* xv = xc.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) out[i] = (xv[i] - lo[i] <= hi[i] - xv[i]) ? lo[i] : hi[i];
    return out;
}

engine::Subspace subspace_for(const torch::Tensor& w, const LearnedOptions& opt, int64_t k) {
    engine::SubspaceOptions so;
    so.k = k;
    so.exact = opt.full_matrix;
    so.oversample = opt.svd_oversample;
    so.power_iterations = opt.svd_power_iterations;
    so.seed = opt.seed;
    return engine::principal_subspace(w, so);
}

torch::Tensor run_method(const RoundingProblem& p, const LayoutOps& ops, const LearnedOptions& opt,
                         const Registry& registry, const engine::Progress& progress,
                         int64_t* iterations) {
    if (opt.method == "search") {
        engine::SearchOptions so{opt.num_iter, opt.full_error_weight, opt.max_full_ratio};
        return engine::flip_search(p, so, progress, iterations);
    }
    engine::RelaxSetup setup;
    setup.global_preconditioner = global_preconditioner(ops.desc().family);
    if (opt.method != "original") setup.optimizer = registry.optimizer(opt.method);
    return engine::relax(p, opt, setup, progress, iterations);
}

}  // namespace

void validate(const LearnedOptions& opt, const Registry& registry) {
    if (opt.method != "search" && opt.method != "original" && !registry.optimizer(opt.method))
        bad_option("unknown method '" + opt.method +
                   "' (search, original, or an optimizer a plugin provides: adamw, radam, prodigy)");
    if (!one_of(opt.lr_schedule, kSchedules))
        bad_option("unknown lr_schedule '" + opt.lr_schedule + "' (adaptive, exponential, plateau)");
    if (opt.lr_threshold_mode != "rel" && opt.lr_threshold_mode != "abs")
        bad_option("lr_threshold_mode must be rel or abs, not '" + opt.lr_threshold_mode + "'");
    if (opt.lr_adaptive_mode != "simple-reset" && opt.lr_adaptive_mode != "no-reset")
        bad_option("lr_adaptive_mode must be simple-reset or no-reset, not '" + opt.lr_adaptive_mode + "'");
    if (!(opt.top_p > 0 && opt.top_p <= 1)) bad_option("top_p must lie in (0, 1]");
    if (opt.min_k < 1 || opt.max_k < 1) bad_option("min_k and max_k must be at least 1");
    if (opt.num_iter < 0) bad_option("num_iter must not be negative");
    if (!(opt.full_error_weight >= 0)) bad_option("full_error_weight must not be negative");
    if (!(opt.max_full_ratio >= 1)) bad_option("max_full_ratio must be at least 1");
    if (opt.svd_oversample < 0 || opt.svd_power_iterations < 0)
        bad_option("svd_oversample and svd_power_iterations must not be negative");
    if (!(opt.lr > 0)) bad_option("lr must be positive");
    parse_device(opt.device);
}

namespace {

// The weight, RTN and the grid neighbours on the working device, plus the principal subspace.
RoundingProblem make_problem(const LayoutOps& ops, const float* w, const QuantizedLayer& q,
                             const LearnedOptions& opt, torch::Device device, int64_t k) {
    const int64_t rows = q.rows, cols = q.cols, n = rows * cols;
    std::vector<float> rtn(n), lo(n), hi(n);
    ops.dequantize(q, rtn.data());
    ops.bracket(w, q, lo.data(), hi.data());
    RoundingProblem p;
    p.w = to_device(w, rows, cols, device);
    p.rtn = to_device(rtn, rows, cols, device);
    p.lo = to_device(lo, rows, cols, device);
    p.hi = to_device(hi, rows, cols, device);
    if (opt.method != "search") {  // only the relaxation steps through the scales
        std::vector<float> scale(n);
        ops.expand_scale(q, scale.data());
        p.scale = to_device(scale, rows, cols, device);
    }
    p.sub = subspace_for(p.w, opt, k);
    p.rtn_subspace2 = engine::projected_energy(p.sub, p.rtn - p.w);
    p.rtn_full2 = sum_squares(p.rtn - p.w);
    return p;
}

// Encodes the chosen grid values, decodes what would be written and measures that; q takes the
// result only if it beats RTN's subspace error within the full-error cap.
void judge(const LayoutOps& ops, const RoundingProblem& p, const std::vector<float>& values,
           QuantizedLayer& q, double max_full_ratio, LearnedStats& stats) {
    QuantizedLayer trial = q;
    ops.encode_values(values.data(), trial);
    std::vector<float> written(values.size());
    ops.dequantize(trial, written.data());
    const auto wq = to_device(written, q.rows, q.cols, p.w.device());
    stats.subspace = std::sqrt(engine::projected_energy(p.sub, wq - p.w));
    stats.full = std::sqrt(sum_squares(wq - p.w));
    stats.changed = (wq != p.rtn).sum().item<int64_t>();
    if (stats.subspace < stats.rtn_subspace && stats.full <= max_full_ratio * stats.rtn_full) {
        q = std::move(trial);
        return;
    }
    stats.kept_rtn = true;
    stats.subspace = stats.rtn_subspace;
    stats.full = stats.rtn_full;
    stats.changed = 0;
}

std::vector<float> to_host(const torch::Tensor& t) {
    const auto c = t.to(torch::kCPU).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

LearnedStats learn_rounding(const LayoutOps& ops, const float* w, QuantizedLayer& q,
                            const LearnedOptions& opt, const Registry& registry,
                            const std::function<void(int64_t iter, double loss)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    validate(opt, registry);
    if (!ops.supports_learned())
        bad_option(std::string("layout '") + ops.desc().name + "' has no grid operations");
    torch::NoGradGuard no_grad;
    LearnedStats stats;
    stats.k = engine::subspace_rank(q.rows, q.cols, opt.top_p, opt.min_k, opt.max_k);
    const auto p = make_problem(ops, w, q, opt, parse_device(opt.device), stats.k);
    stats.rtn_subspace = std::sqrt(p.rtn_subspace2);
    stats.rtn_full = std::sqrt(p.rtn_full2);
    trace_phase("setup", start);

    const auto result = run_method(p, ops, opt, registry, progress, &stats.iterations);
    // The search returns grid values; a relaxation a continuous iterate still to be rounded.
    const auto values = opt.method == "search" ? to_host(result) : nearest_on_grid(ops, q, result);
    trace_phase("method", start);
    judge(ops, p, values, q, opt.max_full_ratio, stats);
    trace_phase("judged", start);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
}

}  // namespace ctq
