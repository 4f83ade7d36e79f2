// Learned rounding: choose, for every element of a weight, which of its two neighbouring grid
// values to store so that the error in the weight's principal subspace shrinks while the full
// error barely grows. The public face of ctq_engine; no LibTorch types here, so ctq_core files
// can include it (the functions live in libctq_engine.so; the host reaches them through
// engine/engine_api.hpp).
//
// Objective (REFERENCE 5.1, judged on the codes actually written): with U_k, V_k the top-k
// singular vectors of W and E = dequant(q) - W,
//     subspace = ||U_k^T E V_k||_F,   full = ||E||_F.
// The result is kept only when subspace < RTN's and full <= max_full_ratio * RTN's; otherwise
// q is left as the RTN codes it held on entry (stats.kept_rtn).
#pragma once

#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace ctq {

struct LearnedOptions {
    // "search" (default: discrete flip search on the rounded codes, see flip_search.cpp), or the
    // reference's relaxation loop with an optimizer: "original" (plain step in the host),
    // "adamw", "radam", "prodigy" (optimizer plugins).
    std::string method = "search";
    int64_t num_iter = 4000;  // search: max rounds; relaxation: max iterations
    double lr = 1.0;
    std::string lr_schedule = "plateau";  // adaptive | exponential | plateau
    double top_p = 0.2;
    int64_t min_k = 256, max_k = 1280;
    bool full_matrix = true;  // exact top-k subspace; false: the seeded randomized SVD (--randomized_svd)
    int64_t svd_oversample = 10, svd_power_iterations = 4;
    // Search trade-off: score = d(subspace^2)/subspace_rtn^2 + w * d(full^2)/full_rtn^2, so
    // w = 1 prices one percent of either squared error alike. The search starts at 64 w and
    // lowers the weight to w (cheapest flips first); larger w keeps the full error closer to
    // RTN, smaller spends more of the max_full_ratio budget on subspace reduction.
    double full_error_weight = 2.0;
    // Hard cap for every method: a result whose full error exceeds this multiple of RTN's is
    // not kept (the search never crosses it).
    double max_full_ratio = 1.005;
    // Also certify how low any rounding between the two neighbours could go within the cap
    // (LearnedStats::subspace_bound; engine/rounding_bound.cpp). Up to 300 FISTA steps of two
    // subspace GEMM pairs each: on the CPU several times the search (1024x1024: ~7 s vs ~1 s).
    bool subspace_bound = false;
    uint64_t seed = 0;
    std::string device = "cpu";  // "cpu", "cuda", "cuda:1"

    // REFERENCE 2.3 advanced knobs (relaxation methods only).
    double lr_gamma = 0.99, lr_factor = 0.95, lr_min = 1e-8, lr_threshold = 0.0;
    int64_t lr_patience = 1, lr_cooldown = 0;
    std::string lr_threshold_mode = "rel";           // rel | abs
    std::string lr_adaptive_mode = "simple-reset";   // simple-reset | no-reset
    double lr_shape_influence = 1.0;
    double early_stop_loss = 5e-9, early_stop_lr = 1.01e-8;
    int64_t early_stop_stall = 2000;
    bool use_speed = false;                  // Prodigy use_speed
    std::string optimizer_options = "{}";    // extra JSON hyper-parameters for the plugin
};

struct LearnedStats {
    int64_t k = 0;
    double rtn_subspace = 0, subspace = 0;  // ||U_k^T E V_k||_F of RTN and of the result
    double rtn_full = 0, full = 0;          // ||E||_F of RTN and of the result
    int64_t iterations = 0;                 // search rounds or relaxation iterations
    int64_t changed = 0;                    // elements whose code differs from RTN
    double seconds = 0;
    bool kept_rtn = false;
    // Certified lower bound on subspace / rtn_subspace for any rounding within max_full_ratio;
    // -1: not computed (LearnedOptions::subspace_bound off).
    double subspace_bound = -1;
};

// w: F32 [q.rows, q.cols] on the CPU. q holds the RTN result on entry; on return it holds the
// chosen codes (scales unchanged). progress(iter, loss) is called now and then (may be empty).
// Throws CtqError (naming the layout) on bad options or a layout without grid operations.
LearnedStats learn_rounding(const LayoutOps& ops, const float* w, QuantizedLayer& q,
                            const LearnedOptions& opt, const Registry& registry,
                            const std::function<void(int64_t iter, double loss)>& progress);

// Throws CtqError when opt names an unknown method/schedule/mode or an impossible value.
void validate(const LearnedOptions& opt, const Registry& registry);

}  // namespace ctq
