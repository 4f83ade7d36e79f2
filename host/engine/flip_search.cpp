// The default learned-rounding method: a discrete search on the rounded codes themselves.
//
// Why: the reference optimises a continuous relaxation and rounds once at the end, so most of
// what it "learns" is thrown away by the final rounding (REFERENCE 17: FP8 keeps ~0.79x of the
// RTN subspace error at +1.5 % full error; INT8 per-row is an exact no-op). Here every state is
// a valid quantized weight, so the loss we minimise is the loss of what we write.
//
// State: every element sits on one of its two grid neighbours lo/hi (bracket of W); it starts
// where RTN put it. With E = Wq - W (M x N) and P = U_k^T E V_k (k x k), moving element (i, j)
// by d (to its other neighbour) changes
//     ||P||^2  by  2 d u_i^T P v_j + d^2 ||u_i||^2 ||v_j||^2      (u_i, v_j: rows of U_k, V_k)
//     ||E||^2  by  d (2 e_ij + d)
// exactly. G = U_k P V_k^T gives every u_i^T P v_j at once, so one round scores all M*N flips by
//     score = d||P||^2 / ||P_rtn||^2 + w * d||E||^2 / ||E_rtn||^2        (w: full_error_weight)
// takes the most negative ones (a batch), applies them and updates P by the rank-B correction
// U_sel^T diag(d) V_sel (or recomputes P when that is cheaper). G is kept between rounds and
// moved with the flips (by the rank-B product while that is cheaper than its two GEMMs); a round
// computes every score from G, d and E in one fused pass (engine/flip_scores.hpp).
// Flips in one batch interact (through u_i.u_i' v_j.v_j', strongly when they share a row or an
// outlier column), so no row or column may take more than twice its even share of a batch
// (engine/batch_spread.hpp), and a batch is accepted only if the exact new objective fell, else its
// prefix is retried shorter with the same scores; the batch size doubles while the realised
// gain tracks the predicted one and halves when it falls far short. Elements already moved
// can move back.
//
// The weight w follows a path instead of staying fixed, because the order in which the
// full-error budget is spent matters: it starts at 64 x full_error_weight (only flips that cost
// almost no full error, elements near the midpoint between two grid values, qualify) and is
// halved whenever a round gains less than 0.03 % of the current subspace error^2 although its
// scores promised little more (a batch that fell short of its promise only shrinks the batch),
// down to full_error_weight. A flip is never taken if it would push ||E|| past max_full_ratio x
// ||E_rtn||; once that budget binds, w becomes its price: raised x1.25 when a batch does not
// fit or the search stalls with the budget spent (so flips that spent the budget badly are
// undone for better ones), lowered when it stalls with budget left; the step shrinks each time
// the price turns, and the price moves at most 12 times after the budget first binds. The best
// state seen before a raise is kept if the end is worse. ||E||^2 and G (from P) are recomputed
// every 8 rounds and P from scratch every 64, so float drift cannot accumulate. The search
// ends at a local optimum of single flips at the final weight, after 4 rounds without an
// accepted batch, or after max_rounds. Deterministic: no randomness; for the same input,
// thread count and device the same flips are taken (the seed only enters through the SVD).
#include "engine/batch_spread.hpp"
#include "engine/flip_moves.hpp"
#include "engine/flip_scores.hpp"
#include "engine/problem.hpp"
#include "engine/torch_stream.hpp"

#include <ctq/kernels/flip_score.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

namespace ctq::engine {

Neighbours rtn_neighbours(const RoundingProblem& p) {
    const auto rtn = p.rtn.reshape({-1});
    const auto lo = p.lo.reshape({-1}), hi = p.hi.reshape({-1});
    // Scoped and in place where it changes no value: each temporary is layer-sized, and this is
    // where a CPU layer's memory peaked (8 of them at once).
    torch::Tensor on_lo, movable;
    {
        const auto to_lo = (rtn - lo).abs_(), to_hi = (hi - rtn).abs_();
        on_lo = to_lo <= to_hi;
        auto gap = hi - lo;
        const auto positive = gap > 0;
        // RTN must sit on a neighbour (up to float noise in the layout's arithmetic) to be movable.
        movable = positive & (torch::minimum(to_lo, to_hi) <= gap.mul_(1e-3f));
    }
    Neighbours n;
    n.base = torch::where(movable, torch::where(on_lo, lo, hi), rtn);
    n.alt = torch::where(on_lo, hi, lo);
    n.delta = n.alt - n.base;
    n.delta.masked_fill_(movable.logical_not(), 0);
    return n;
}

namespace {

constexpr int64_t kRefreshEvery = 8;  // rounds between exact recomputations of G and ||E||^2 ...
// ... and of P, whose FP32 rank-B updates drift far less than G's BF16 ones: its FP32 GEMM over
// the whole error was a quarter of the GEMM time (H100, same call: FP8 8.2 -> 7.8 s; subspace
// error median 0.346x -> 0.328x of RTN, worst unchanged).
constexpr int64_t kProjectEvery = 64;
constexpr double kAnnealStart = 64;   // first weight = 64 x full_error_weight ...
constexpr double kAnnealFactor = 2;   // ... halved each time the search stalls:
constexpr double kPriceStep = 1.25;    // price x 1.25 whenever the full-error budget binds ...
constexpr double kMinPriceStep = 1.02; // ... the step's square root each time the price turns
constexpr double kKickGain = 0.01;     // a kick must have gained 1 % of the subspace error^2
constexpr double kStallGain = 3e-4;    // a round gains < 0.03 % of the current subspace error^2
constexpr int kMaxIdleRounds = 4;      // rounds in a row without an accepted batch
constexpr int kMaxAdjustments = 12;    // price changes once the budget has bound
constexpr double kBudgetSlack = 2e-4;  // "budget spent": within 0.02 % of ||E||^2
constexpr int64_t kStartBatchDivisor = 4096;  // first batch: numel / 4096 flips ...
constexpr int64_t kBatchGrowth = 2;           // ... x2 while gains come as predicted
constexpr int64_t kExactSelect = int64_t(1) << 20;  // exact top-k up to 1M scores
// A row or column may hold at most max(2, 2 x its even share) of a batch's flips
// (engine/batch_spread.hpp says why), so the batch is ranked from a pool of ~4 batches.
constexpr int64_t kLineShare = 2;
constexpr int64_t kMinLineCap = 2;
constexpr int64_t kPoolBatches = 4;

// On CUDA a GEMM dimension not a multiple of 8 (k = 614 on a 3072-wide layer, any batch size)
// sends cuBLAS to its unaligned kernels (align1 SIMT for F32, align2 for BF16). Zero rows or
// columns added to a factor change no product the search uses, no norm and no P entry that
// counts, so the factors are padded there; the CPU keeps its shapes and its bits.
constexpr int64_t kGemmAlign = 8;

torch::Tensor padded(const torch::Tensor& x, int64_t dim) {
    const int64_t extra = (kGemmAlign - x.size(dim) % kGemmAlign) % kGemmAlign;
    if (!x.is_cuda() || extra == 0) return x;
    return dim == 1 ? torch::constant_pad_nd(x, {0, extra}) : torch::constant_pad_nd(x, {0, 0, 0, extra});
}

// Flat [M*N] working state of the search.
struct FlipState {
    torch::Tensor base;     // current RTN value snapped onto lo or hi
    torch::Tensor alt;      // the other neighbour
    torch::Tensor e;        // current error Wq - W
    torch::Tensor delta;    // change if this element flips now (0 when it cannot move): alt - base
                            // while it sits on base, base - alt once on alt (so it says which)
};

FlipState initial_state(const RoundingProblem& p, Neighbours n) {
    FlipState s;
    s.base = std::move(n.base);
    s.alt = std::move(n.alt);
    s.e = s.base - p.w.reshape({-1});
    s.delta = std::move(n.delta);
    return s;
}

// score = d||P||^2 / ||P_rtn||^2 + weight * d||E||^2 / ||E_rtn||^2, and the objective it moves.
struct Objective {
    double inv_l0, inv_f0, weight;
    double operator()(double p2, double f2) const { return p2 * inv_l0 + f2 * inv_f0 * weight; }
};

// The ranked batch's running sums on the host, from one copy: a retried prefix then needs no
// reduction on the device, and the budget's prefix no scan there either. The same copy brings the
// pool's count (selecting the batch waits for the device only where the spread's masks are read).
struct BatchPrefix {
    std::vector<double> full_change;  // ||E||^2's change if the first i+1 flips are taken
    std::vector<double> score;        // their summed scores (the predicted change of the objective)
    int64_t found = 0;                // candidates the pool holds (more than its slots: it overflowed)
    int64_t candidates = 0;           // the batch's real flips: min(its length, found)
    int64_t affordable = 0;           // the longest prefix that keeps ||E||^2 within the budget

    BatchPrefix(const torch::Tensor& df, const torch::Tensor& scores, const torch::Tensor& pool_found, double f2,
                double budget) {
        const int64_t n = df.numel();
        const auto host =
            torch::cat({df, scores.to(torch::kFloat64), pool_found.to(torch::kFloat64).reshape({1})}).to(torch::kCPU);
        const double* d = host.data_ptr<double>();
        const double* s = d + n;
        found = static_cast<int64_t>(d[2 * n]);
        candidates = std::min(n, found);
        full_change.resize(static_cast<size_t>(candidates));
        score.resize(static_cast<size_t>(candidates));
        double df_sum = 0, score_sum = 0;
        affordable = candidates;
        for (int64_t i = 0; i < candidates; ++i) {
            full_change[i] = df_sum += d[i];
            score[i] = score_sum += s[i];
            if (affordable == candidates && !(df_sum + f2 <= budget)) affordable = i;
        }
    }
};

// The batch a round tries: the best flips of the pool after the spread, best first, candidates
// only. The pool keeps its count and room, not its indices: found beyond slots means the ranking
// missed candidates.
struct RankedBatch {
    torch::Tensor scores, order;
    FlipPool pool;
};

class Search {
public:
    Search(const RoundingProblem& p, Neighbours moves, const SearchOptions& o, MethodStats& ms)
        : p_(p), n_(p.w.size(1)), s_(initial_state(p, std::move(moves))), ms_(ms), clock_(p.w.device()),
          objective_{1.0 / p.rtn_subspace2, 1.0 / p.rtn_full2, o.full_error_weight * kAnnealStart},
          floor_weight_(o.full_error_weight),
          budget_(o.max_full_ratio * o.max_full_ratio * p.rtn_full2 * (1 - 1e-7)),
          start_batch_(std::max<int64_t>(64, p.w.numel() / kStartBatchDivisor)),
          batch_(start_batch_),
          max_batch_(std::max<int64_t>(64, p.w.numel() / 16)),
          u_(padded(p.sub.u, 1)),
          v_(padded(p.sub.v, 1)) {
        row_norm2_ = u_.pow(2).sum(1).contiguous();
        col_norm2_ = v_.pow(2).sum(1).contiguous();
        u_g_ = u_.to(g_type());
        vt_g_ = v_.t().to(g_type());
        refresh();
    }

    // One round; false when the search is over.
    bool round(int64_t index) {
        clock_.lap(nullptr);
        if (index > 0 && index % kRefreshEvery == 0) refresh(index % kProjectEvery == 0);
        clock_.lap(&ms_.gemm_seconds);
        const float budget_left = static_cast<float>(budget_ - f2_);
        for (int64_t room = 0;;) {  // a pool that overflowed is selected again with room for all
            const auto batch = most_improving(budget_left, room);
            const auto [d_all, df_all] = gather_moves(batch.order, s_.delta, s_.e);
            const BatchPrefix prefix(df_all, batch.scores, batch.pool.found, f2_, budget_);
            if (prefix.found > batch.pool.slots) {
                room = prefix.found;
                continue;
            }
            clock_.lap(&ms_.select_seconds);
            if (prefix.candidates == 0) return anneal();
            if (prefix.affordable < prefix.candidates) tighten();
            const bool go_on = take_batch(prefix, d_all, batch.order);
            clock_.lap(&ms_.update_seconds);
            return go_on;
        }
    }

    double weight() const { return objective_.weight; }
    double subspace_ratio() const { return std::sqrt(p2_ * objective_.inv_l0); }
    // The end state, or the best one remembered if that was better.
    torch::Tensor values() {
        ms_.end_objective = floor_objective();
        remember_if_best();
        ms_.objective = best_j_;
        return torch::where(best_on_alt_, s_.alt, s_.base).view_as(p_.w);
    }

private:
    const RoundingProblem& p_;
    int64_t n_;
    FlipState s_;
    MethodStats& ms_;
    PhaseClock clock_;
    Objective objective_;
    double floor_weight_, budget_;
    int64_t start_batch_, batch_, max_batch_;
    torch::Tensor u_, v_;  // U_k, V_k, on CUDA with zero columns up to a multiple of kGemmAlign
    torch::Tensor row_norm2_, col_norm2_, pmat_;  // ||u_i||^2, ||v_j||^2 (the flips' self terms)
    // G only ranks flips (every batch is judged by the exact P), so on CUDA it is kept in BF16:
    // half the bytes each round reads, and tensor-core GEMMs where the FP32 rank-B update of G
    // was most of a round on large layers. U and V^T in G's type, for its GEMMs.
    torch::Tensor u_g_, vt_g_;
    torch::ScalarType g_type() const { return p_.w.is_cuda() ? torch::kBFloat16 : torch::kFloat32; }
    // G = U P V^T, flat [M*N], kept current between rounds: exact at every refresh, updated by
    // rank-B products in between.
    torch::Tensor g_;
    double f2_ = 0, p2_ = 0, j_ = 0;  // ||E||^2, ||P||^2 (the host's copies) and the objective
    bool budget_bound_ = false;
    int idle_rounds_ = 0, adjustments_ = 0;
    double price_step_ = kPriceStep;
    int last_price_move_ = 0;  // +1 raised, -1 lowered, 0 never moved
    // A raised price undoes flips, and the state can swing with the price between two levels to
    // the end (one layer went 0.63x -> 0.69x -> 0.63x of RTN's subspace error a dozen times and
    // stopped on 0.69x). So before each raise the state is remembered if it is the best so far
    // under the user's trade-off (the floor weight), as the elements on alt (one byte each).
    double best_j_ = std::numeric_limits<double>::infinity(), kicked_j_ = best_j_;
    torch::Tensor best_on_alt_;

    double floor_objective() const { return p2_ * objective_.inv_l0 + f2_ * objective_.inv_f0 * floor_weight_; }

    // On alt: a nonzero move whose sign is not that of alt - base (masks only: a layer-sized F32
    // temporary here was the CPU's peak).
    torch::Tensor on_alt() const {
        return s_.delta.gt(0).logical_xor_(s_.alt.gt(s_.base)).logical_and_(s_.delta.ne(0));
    }

    void remember_if_best() {
        const double j = floor_objective();
        if (!(j < best_j_)) return;
        best_j_ = j;
        best_on_alt_ = on_alt();
    }

    // A dual ascent on the weight: its step is square-rooted each time the price turns, so that
    // it settles between the levels it would swing across instead of cycling.
    void move_price(int direction) {
        if (last_price_move_ != 0 && direction != last_price_move_)
            price_step_ = std::max(kMinPriceStep, std::sqrt(price_step_));
        last_price_move_ = direction;
        if (direction > 0) remember_if_best();
        objective_.weight = direction > 0 ? objective_.weight * price_step_ : objective_.weight / price_step_;
        ++adjustments_;
        ++ms_.anneals;
        j_ = objective_(p2_, f2_);
    }

    // score = d^2 ||u_i||^2 ||v_j||^2 / L0 + w d (2 e + d) / F0 + 2 d G / L0, computed on the fly
    // from the state by one fused pass (engine/flip_scores.hpp).
    FlipTerms terms() const {
        return {g_, s_.delta, s_.e, row_norm2_, col_norm2_, 2 * objective_.inv_l0, objective_.inv_l0,
                objective_.inv_f0 * objective_.weight};
    }

    // At most `batch` of the most improving flips (score < 0) among those whose full-error change
    // fits in what is left of the budget, best first and spread over the rows and columns: scores
    // and flat indices. They come from a pool of ~kPoolBatches batches, so that the spread still
    // fills a batch. Beyond kExactSelect elements a full top-k costs more than the rest of a
    // round, so a threshold is read off a sample of 1 in stride elements (its k-th smallest score,
    // set to pass ~3 batches) and only the elements under it are ranked. Deterministic: the
    // sample, the spread's stable sorts, and a pool ranked by keys (score, then index) whatever
    // order top-k or the select's atomics left it in.
    RankedBatch most_improving(float budget_left, int64_t room) const {
        const auto t = terms();
        const int64_t n = s_.delta.numel(), want = std::min(batch_, n);
        FlipPool pool;
        if (n <= kExactSelect) {
            const auto score = flip_scores(t, 1, budget_left);
            // Ascending, so the improving ones (score < 0) come first, ties in whatever order.
            const int64_t take = std::min(n, want * kPoolBatches);
            auto [values, order] = torch::topk(score, take, 0, /*largest=*/false);
            pool = {order, values.lt(0).sum(), take};
        } else {
            const int64_t stride = n / kExactSelect;
            const auto sample = flip_scores(t, stride, budget_left);
            const int64_t rank = std::min<int64_t>(sample.numel(), want * (kPoolBatches - 1) / stride + 16);
            // Below zero, so that score <= cut also says "improving".
            const auto cut = kth_smallest(sample, rank).clamp_max(-std::numeric_limits<float>::min());
            pool = flip_select(t, cut, budget_left, std::max(room, want * kPoolBatches + 1024));
        }
        const auto keys = std::get<0>(flip_rank_keys(t, pool.idx, pool.found).sort());
        const auto ranked = flip_rank_key_index(keys.masked_select(keys.lt(kern::kFlipRankNone)));
        const auto line_cap = [want](int64_t lines) { return std::max(kMinLineCap, kLineShare * want / lines); };
        const auto best = spread_over_lines(ranked, n_, line_cap(p_.w.size(0)), line_cap(n_), want);
        pool.idx = torch::Tensor();  // ranked: the indices are in `best` now
        return {flip_scores_at(t, best), best, std::move(pool)};
    }

    // G = U_k P V_k^T, the cheaper association first (the k x k factor meets the shorter side).
    torch::Tensor ranking_gemm() const {
        if (u_.size(0) >= v_.size(0)) return torch::matmul(u_g_, torch::matmul(pmat_, v_.t()).to(g_type()));
        return torch::matmul(torch::matmul(u_, pmat_).to(g_type()), vt_g_);
    }

    torch::Tensor projection(const torch::Tensor& e_flat) const {
        return torch::matmul(torch::matmul(u_.t(), e_flat.view({-1, n_})), v_);
    }

    void refresh(bool with_projection = true) {
        ++ms_.refreshes;
        if (with_projection) pmat_ = projection(s_.e);
        g_ = ranking_gemm().reshape({-1});
        const auto sums = fetch({squares64(s_.e), squares64(pmat_)});
        f2_ = sums[0];
        p2_ = sums[1];
        j_ = objective_(p2_, f2_);
    }

    // After moving elements idx by d (P already moved): G, by the rank-B product
    // (U (U_idx d)^T)(V_idx V^T) while that is cheaper than U (P V^T).
    void moved(const torch::Tensor& idx, const torch::Tensor& d) {
        const double m = static_cast<double>(u_.size(0)), n = static_cast<double>(v_.size(0));
        const double k = static_cast<double>(p_.sub.u.size(1)), b = static_cast<double>(idx.numel());
        if (b * (m * n + (m + n) * k) >= m * n * k + std::min(m, n) * k * k) {
            g_ = ranking_gemm().reshape({-1});
            return;
        }
        if (!tried_ud_.defined() || tried_ud_.size(0) != idx.numel()) low_rank_factors(idx, d);
        g_.view({-1, n_}).addmm_(torch::matmul(u_, padded(tried_ud_, 0).t()).to(g_type()),
                                 torch::matmul(padded(tried_v_, 0), v_.t()).to(g_type()));
    }

    // Converged at this weight: relax it toward the floor (cheap flips first), or stop.
    bool anneal() {
        if (budget_bound_) return reprice_at_budget();
        if (objective_.weight <= floor_weight_) {
            return false;
        } else {
            objective_.weight = std::max(floor_weight_, objective_.weight / kAnnealFactor);
        }
        ++ms_.anneals;
        j_ = objective_(p2_, f2_);
        return true;
    }

    // Converged with the budget binding, a bounded number of times. With budget left the price
    // falls so that more flips fit. With it spent the price rises (a kick): flips that spent the
    // budget badly are undone and better ones take their place. On the bench model's FP8 layers
    // such exchanges took a search stopped at 0.645x of RTN's subspace error to 0.564x (CPU); a
    // kick must have gained kKickGain since the last one for another to follow.
    bool reprice_at_budget() {
        if (adjustments_ >= kMaxAdjustments) return false;
        if (f2_ <= budget_ * (1 - kBudgetSlack)) {
            move_price(-1);
            return true;
        }
        remember_if_best();
        if (!(best_j_ < kicked_j_ - kKickGain * p2_ * objective_.inv_l0)) return false;
        kicked_j_ = best_j_;
        ++ms_.kicks;
        move_price(+1);
        return true;
    }

    // P after moving elements idx by d: a rank-B update while that is cheaper than recomputing.
    // The factors (U_idx diag(d), V_idx) of the last rank-B update, reused by moved() for G.
    torch::Tensor tried_ud_, tried_v_;

    torch::Tensor moved_projection(const torch::Tensor& idx, const torch::Tensor& d) {
        if (idx.numel() * p_.sub.u.size(1) < p_.w.numel()) {
            low_rank_factors(idx, d);
            return pmat_ + torch::matmul(tried_ud_.t(), tried_v_);
        }
        tried_ud_ = tried_v_ = torch::Tensor();
        auto e = s_.e.clone();
        e.index_add_(0, idx, d);
        return projection(e);
    }

    void low_rank_factors(const torch::Tensor& idx, const torch::Tensor& d) {
        std::tie(tried_ud_, tried_v_) = engine::low_rank_factors(idx, d, u_, v_);
    }

    // Applies the best prefix of the affordable most improving flips whose exact effect lowers
    // the objective: flips interact, so a rejected batch is retried shorter (same scores, no
    // ranking GEMM). d_all, order: the batch's moves and flat indices.
    bool take_batch(const BatchPrefix& prefix, const torch::Tensor& d_all, const torch::Tensor& order) {
        const int64_t affordable = prefix.affordable, candidates = prefix.candidates;
        for (int64_t keep = affordable; keep > 0; keep = keep > 1 ? std::max<int64_t>(1, keep / 4) : 0) {
            if (keep < affordable) ++ms_.retries;
            const auto sel = order.narrow(0, 0, keep), d_sel = d_all.narrow(0, 0, keep);
            const auto p_new = moved_projection(sel, d_sel);
            const double f2_new = f2_ + prefix.full_change[keep - 1], p2_new = fetch({squares64(p_new)})[0];
            const double predicted = -prefix.score[keep - 1];
            const double j_new = objective_(p2_new, f2_new);
            if (!(j_new < j_)) continue;
            idle_rounds_ = 0;
            ++ms_.accepted;
            ms_.flips += keep;
            apply_moves(sel, s_.e, s_.delta);
            pmat_ = p_new;
            moved(sel, d_sel);
            f2_ = f2_new;
            p2_ = p2_new;
            const double gain = j_ - j_new, realised = gain / predicted;
            j_ = j_new;
            if (realised > 0.7 && keep == batch_) batch_ = std::min(max_batch_, batch_ * kBatchGrowth);
            else if (realised < 0.3) batch_ = std::max<int64_t>(1, keep / 2);
            else if (keep < candidates) batch_ = std::max<int64_t>(1, keep);
            // Converged at this weight when even the scores promise little; a batch whose flips
            // got in each other's way (realised << predicted) only says the batch was too big.
            const double stall = kStallGain * p2_new * objective_.inv_l0;
            if (gain < stall && (predicted * 0.3 < stall || keep == 1)) return anneal();
            return true;
        }
        // Nothing accepted: with the budget binding, the raised price may free a move next round.
        return budget_bound_ && ++idle_rounds_ < kMaxIdleRounds;
    }

    // The full-error budget binds: raise its price so that flips which spend it badly are
    // undone in favour of better ones (a dual ascent on the weight), and stop annealing down.
    void tighten() {
        budget_bound_ = true;
        move_price(+1);
    }
};

}  // namespace

torch::Tensor flip_search(const RoundingProblem& p, Neighbours moves, const SearchOptions& o, const Progress& progress,
                          MethodStats* stats) {
    torch::NoGradGuard no_grad;
    MethodStats& ms = *stats;
    ms.rounds = 0;
    if (!(p.rtn_subspace2 > 0) || !(p.rtn_full2 > 0)) return p.rtn;
    Search search(p, std::move(moves), o, ms);
    for (int64_t round = 0; round < o.max_rounds; ++round) {
        ms.rounds = round + 1;
        if (progress) progress(round, search.subspace_ratio());
        if (!search.round(round)) break;
    }
    ms.final_weight = search.weight();
    return search.values();
}

}  // namespace ctq::engine
