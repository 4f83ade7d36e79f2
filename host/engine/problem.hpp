// What every learned-rounding method works on (engine-internal; LibTorch types).
#pragma once

#include "engine/learned_rounding.hpp"
#include "engine/subspace.hpp"
#include "engine/trace.hpp"

#include <ctq/ctq_plugin.h>

#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace ctq::engine {

using Progress = std::function<void(int64_t iter, double loss)>;

// All tensors F32 [M, N] on the working device, in the dequantized (weight) domain.
struct RoundingProblem {
    torch::Tensor w;      // the weight
    torch::Tensor rtn;    // dequant(RTN codes)
    torch::Tensor lo, hi; // the grid neighbours of w (bracket), lo == hi when w is on the grid
    torch::Tensor scale;  // per-element dequantization multiplier (expand_scale)
    Subspace sub;
    double rtn_subspace2 = 0;  // ||U^T E_rtn V||^2
    double rtn_full2 = 0;      // ||E_rtn||^2
};

// Sum of squares of t in FP64, as a 0-dim tensor on t's device (fetch() reads several at once),
// or as a double. On CUDA one cast-square-sum over the whole tensor. On the CPU chunk by chunk:
// the whole-tensor form builds two FP64 copies of a layer-sized error (four times its F32
// bytes), the largest transient of a learned layer there.
torch::Tensor squares64(const torch::Tensor& t);
double sum_squares(const torch::Tensor& t);

// Where each element may move, flat [M*N]: base is RTN snapped onto the neighbour it sits on,
// alt the other neighbour, delta = alt - base, 0 where the element cannot move (lo == hi, or
// RTN on neither neighbour). Shared by the search and the bound, so both see the same moves.
struct Neighbours {
    torch::Tensor base, alt, delta;
};
Neighbours rtn_neighbours(const RoundingProblem& p);

// A certified lower bound on ||U^T (Wq - W) V|| / RTN's over every Wq that picks lo or hi per
// element within max_full_ratio x RTN's full error (rounding_bound.cpp). Why: it tells whether
// a layer that misses the target misses it because of the search or because no rounding can
// reach it (convex relaxation, certified by its linearisation; FISTA for at most `iterations`).
double subspace_lower_bound(const RoundingProblem& p, double max_full_ratio, int64_t iterations = 300);

struct SearchOptions {
    int64_t max_rounds = 4000;
    double full_error_weight = 2.0;
    double max_full_ratio = 1.005;
};

// The discrete flip search (flip_search.cpp) from moves = rtn_neighbours(p), which its state
// takes over (so the caller may drop p.lo and p.hi: two layer-sized tensors fewer while it
// runs). Returns grid values [M, N] on the device.
torch::Tensor flip_search(const RoundingProblem& p, Neighbours moves, const SearchOptions& o,
                          const Progress& progress, MethodStats* stats);

// The reference's relaxation loop (relaxation.cpp): optimizer == nullptr is `original`, the
// host's plain step. Returns the best continuous iterate [M, N] (dequantized domain), which
// the caller still has to round onto the grid.
struct RelaxSetup {
    const ctq_optimizer_desc* optimizer = nullptr;
    bool global_preconditioner = false;  // INT8: one step size for the whole tensor (5.4)
};
torch::Tensor relax(const RoundingProblem& p, const LearnedOptions& o, const RelaxSetup& setup,
                    const Progress& progress, int64_t* iterations);

}  // namespace ctq::engine
