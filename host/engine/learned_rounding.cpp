// learn_rounding: sets up the problem from the layout's grid operations, runs one method and
// keeps its result only if the codes it writes beat RTN (see learned_rounding.hpp).
#include "engine/learned_rounding.hpp"

#include "core/error.hpp"
#include "engine/device.hpp"
#include "engine/device_grid.hpp"
#include "engine/problem.hpp"
#include "engine/torch_stream.hpp"
#include "engine/trace.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <tuple>

#include <malloc.h>

namespace ctq {

namespace {

using engine::RoundingProblem;
using engine::sum_squares;

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

torch::Device parse_device(const std::string& name) { return engine::checked_device(name, "learned rounding"); }

// On the CPU the caller's buffer itself (it outlives the layer's learning, and nothing writes
// to the weight): one layer-sized copy fewer.
torch::Tensor to_device(const float* v, int64_t rows, int64_t cols, torch::Device d) {
    const auto host = torch::from_blob(const_cast<float*>(v), {rows, cols}, torch::kFloat32);
    return d.is_cpu() ? host : host.to(d, false, true);
}

// Onto the grid: the nearer of the two neighbours of x (bracket), ties to lo.
torch::Tensor nearest_on_grid(engine::DeviceGrid& grid, const torch::Tensor& x) {
    const auto [lo, hi] = grid.bracket(x);
    return torch::where(x - lo <= hi - x, lo, hi);
}

engine::Subspace subspace_for(const torch::Tensor& w, const LearnedOptions& opt, int64_t k) {
    engine::SubspaceOptions so;
    so.k = k;
    so.exact = opt.full_matrix;
    so.oversample = opt.svd_oversample;
    so.power_iterations = opt.svd_power_iterations;
    so.seed = opt.seed;
    so.gram = w.is_cuda();  // 2.5x faster than Householder + gesvd on an H200 (18432x3072, k 614)
    return engine::principal_subspace(w, so);
}

// Grid values [M, N] on the device: the search walks the grid; a relaxation's continuous
// iterate is rounded onto it.
torch::Tensor run_method(RoundingProblem& p, const LayoutOps& ops, engine::DeviceGrid& grid,
                         const LearnedOptions& opt, const Registry& registry,
                         const engine::Progress& progress, engine::MethodStats* ms) {
    if (opt.method == "search") {
        engine::SearchOptions so{opt.num_iter, opt.full_error_weight, opt.max_full_ratio};
        auto moves = engine::rtn_neighbours(p);
        if (!opt.subspace_bound) p.lo = p.hi = torch::Tensor();  // the bound, after the search, reads them
        return engine::flip_search(p, std::move(moves), so, progress, ms);
    }
    engine::RelaxSetup setup;
    setup.global_preconditioner = global_preconditioner(ops.desc().family);
    if (opt.method != "original") setup.optimizer = registry.optimizer(opt.method);
    return nearest_on_grid(grid, engine::relax(p, opt, setup, progress, &ms->rounds));
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
RoundingProblem make_problem(engine::DeviceGrid& grid, const float* w, int64_t rows, int64_t cols,
                             const LearnedOptions& opt, torch::Device device, int64_t k,
                             engine::LayerTrace& trace) {
    RoundingProblem p;
    p.w = to_device(w, rows, cols, device);
    p.rtn = grid.dequantize();
    std::tie(p.lo, p.hi) = grid.bracket(p.w);
    if (opt.method != "search") p.scale = grid.expand_scale();  // only the relaxation steps through scales
    trace.mark("grid");
    p.sub = subspace_for(p.w, opt, k);
    const auto e = p.rtn - p.w;
    p.rtn_subspace2 = engine::projected_energy(p.sub, e);
    p.rtn_full2 = sum_squares(e);
    trace.mark("svd");
    return p;
}

// Encodes the chosen grid values, decodes what would be written and measures that; q takes the
// result only if it beats RTN's subspace error within the full-error cap.
void judge(engine::DeviceGrid& grid, const RoundingProblem& p, const torch::Tensor& values, QuantizedLayer& q,
           double max_full_ratio, LearnedStats& stats) {
    const auto wq = grid.encode_trial(values);
    const auto e = wq - p.w;
    stats.subspace = std::sqrt(engine::projected_energy(p.sub, e));
    stats.full = std::sqrt(sum_squares(e));
    stats.changed = (wq != p.rtn).sum().item<int64_t>();
    if (stats.subspace < stats.rtn_subspace && stats.full <= max_full_ratio * stats.rtn_full) {
        grid.commit_trial(q);
        return;
    }
    stats.kept_rtn = true;
    stats.subspace = stats.rtn_subspace;
    stats.full = stats.rtn_full;
    stats.changed = 0;
}

std::string describe(const engine::MethodStats& ms, const LearnedStats& st, bool grid_on_device) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "rounds %lld accepted %lld retries %lld refreshes %lld anneals %lld kicks %lld flips %lld "
                  "weight %.3g%s | "
                  "gemm %.3f select %.3f update %.3f | sub %.4f full %.5f changed %lld%s | grid on %s",
                  (long long)ms.rounds, (long long)ms.accepted, (long long)ms.retries, (long long)ms.refreshes,
                  (long long)ms.anneals, (long long)ms.kicks, (long long)ms.flips, ms.final_weight,
                  ms.objective < ms.end_objective ? " (best state kept)" : "", ms.gemm_seconds,
                  ms.select_seconds, ms.update_seconds,
                  st.rtn_subspace > 0 ? st.subspace / st.rtn_subspace : 1.0,
                  st.rtn_full > 0 ? st.full / st.rtn_full : 1.0, (long long)st.changed,
                  st.kept_rtn ? " kept_rtn" : "", grid_on_device ? "device" : "host");
    return buf;
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
    const torch::Device device = parse_device(opt.device);
    const engine::OwnStream stream(device);  // layers may be learned on several threads at once
    engine::LayerTrace trace(device);
    LearnedStats stats;
    stats.k = engine::subspace_rank(q.rows, q.cols, opt.top_p, opt.min_k, opt.max_k);
    engine::DeviceGrid grid(ops, q, device);
    auto p = make_problem(grid, w, q.rows, q.cols, opt, device, stats.k, trace);
    stats.rtn_subspace = std::sqrt(p.rtn_subspace2);
    stats.rtn_full = std::sqrt(p.rtn_full2);

    engine::MethodStats ms;
    const auto values = run_method(p, ops, grid, opt, registry, progress, &ms);
    stats.iterations = ms.rounds;
    trace.mark("method");
    judge(grid, p, values, q, opt.max_full_ratio, stats);
    trace.mark("judge");
    if (opt.subspace_bound) {
        stats.subspace_bound = engine::subspace_lower_bound(p, opt.max_full_ratio);
        trace.mark("bound");
    }
    // The method's working tensors are freed by now, but glibc keeps most of the heap they
    // fragmented: handing it back keeps the next layers' peak from stacking on it (CPU,
    // hidden-1024 model, two runs each: peak RSS 602 / 615 -> 559 / 591 MiB).
    if (device.is_cpu()) malloc_trim(0);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    trace.print(ops.layer(), q.rows, q.cols, stats.k, ms.rounds, describe(ms, stats, grid.on_device()));
    return stats;
}

}  // namespace ctq
