// subspace_lower_bound: how far below RTN's subspace error ANY rounding between the two grid
// neighbours can go within the full-error cap (problem.hpp). A layer that misses the target by
// less than the search's distance to this bound is a layer the target cannot be met on.
//
// With e0 = base - W (flat), d the move of each element to its other neighbour (0 when it
// cannot move), P0 = U^T e0 V and x in {0,1}^{MN} (1: moved),
//     ||E||^2 = ||e0||^2 + c^T x,  c = d (2 e0 + d)        (exact for binary x)
//     f(x) = ||P0 + U^T (d o x) V||^2 / L0,  L0 = RTN's subspace error^2.
// Every rounding within the cap lies in S = {x in [0,1]^{MN}: c^T x <= B}, B = cap^2 F_rtn -
// ||e0||^2, so min_S f bounds (subspace / RTN)^2 from below. f is convex, so for any x_hat
//     min_S f >= f(x_hat) + min_{x in S} grad f(x_hat)^T (x - x_hat)
// and the inner minimum is a fractional knapsack. x_hat comes from projected FISTA on S (with
// function-value restarts); it only has to be good, not exact: the certificate is valid for any
// x_hat, so float noise in the projection costs tightness, never validity.
#include "engine/problem.hpp"
#include "engine/torch_stream.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ctq::engine {

namespace {

constexpr int64_t kCheckEvery = 10;      // iterations between certificates
constexpr double kTargetGap = 2e-3;      // stop when f(x_hat) - certificate < 0.2 % of f(x_hat)
constexpr double kFloorGap = 1e-6;       // ... or below 1e-6 (a ratio ~0.001) when f -> 0
constexpr int kMaxProjectionSteps = 60;  // safeguarded Newton / bisection steps on lambda
constexpr double kProjectionTol = 1e-6;  // |c^T x - B| accepted, relative to B (or F0 when B = 0)

torch::Tensor sum64(const torch::Tensor& t) { return t.to(torch::kFloat64).sum(); }

// The relaxed problem, flat [M*N] tensors on the working device.
struct Relaxation {
    const RoundingProblem& p;
    torch::Tensor d, c;  // move and its full-error cost
    torch::Tensor p0;    // U^T e0 V
    double budget = 0, inv_l0 = 0;
    int64_t n = 0;       // columns

    torch::Tensor project_moves(const torch::Tensor& x) const {  // U^T (d o x) V
        return torch::matmul(torch::matmul(p.sub.u.t(), (d * x).view({-1, n})), p.sub.v);
    }
    torch::Tensor expand(const torch::Tensor& pm) const {  // U P V^T, flat
        const auto& u = p.sub.u;
        const auto& v = p.sub.v;
        const auto g = u.size(0) >= v.size(0) ? torch::matmul(u, torch::matmul(pm, v.t()))
                                              : torch::matmul(torch::matmul(u, pm), v.t());
        return g.reshape({-1});
    }
};

// Euclidean projection of y onto S: x = clamp(y - lambda c, 0, 1) with lambda >= 0 the root of
// phi(lambda) = c^T x - B (non-increasing, piecewise linear), found by Newton steps kept inside
// a bisection bracket and warm-started from the previous lambda.
torch::Tensor project(const Relaxation& r, const torch::Tensor& y, double& lambda, double tol) {
    auto at = [&](double l) { return (y - l * r.c).clamp_(0, 1); };
    auto x = at(0);
    auto phi_slope = [&](const torch::Tensor& xl) {
        const auto inside = (xl > 0) & (xl < 1);
        return fetch({sum64(r.c * xl), -sum64(r.c * r.c * inside)});
    };
    auto ps = phi_slope(x);
    if (ps[0] <= r.budget) {
        lambda = 0;
        return x;
    }
    // At lambda >= max(y / c) over c > 0 every costly element is 0, so phi <= -B <= 0 there.
    const auto positive = r.c > 0;
    double hi = fetch({torch::where(positive, y / r.c, torch::zeros_like(y)).max()})[0];
    double lo = 0;
    double l = lambda > 0 && lambda < hi ? lambda : hi / 2;
    for (int step = 0; step < kMaxProjectionSteps; ++step) {
        x = at(l);
        ps = phi_slope(x);
        const double phi = ps[0] - r.budget;
        if (std::abs(phi) <= tol) break;
        (phi > 0 ? lo : hi) = l;
        const double newton = ps[1] < 0 ? l - phi / ps[1] : -1;
        l = newton > lo && newton < hi ? newton : (lo + hi) / 2;
        if (hi - lo <= 1e-12 * hi) break;
    }
    lambda = l;
    return x;
}

// min over S of g^T x: negative-gradient elements that cost nothing are free; the costly ones
// are bought greedily by g / c until B is spent, the last one in part. Elements with c < 0
// (RTN not the nearer neighbour) are flipped, x' = 1 - x, so every cost is >= 0 and the budget
// grows by what they give back.
torch::Tensor linear_minimum(const Relaxation& r, const torch::Tensor& g) {
    const auto refund = r.c < 0;
    const auto cost = r.c.abs();
    const auto gain = torch::where(refund, -g, g);
    const auto constant = sum64(torch::where(refund, g, torch::zeros_like(g)));
    const auto budget = sum64(torch::where(refund, cost, torch::zeros_like(cost))) + r.budget;
    const auto wanted = gain < 0;
    const auto free_part = sum64(torch::where(wanted & (cost == 0), gain, torch::zeros_like(gain)));
    const auto priced = wanted & (cost > 0);
    // Not priced: ratio +inf (sorted last), gain 0, cost 1 (they would only eat leftover budget).
    const auto ratio = torch::where(priced, gain / cost, torch::full_like(gain, INFINITY));
    const auto order = std::get<1>(ratio.sort());
    const auto g_sorted = torch::where(priced, gain, torch::zeros_like(gain)).index_select(0, order).to(torch::kFloat64);
    const auto c_sorted = torch::where(priced, cost, torch::ones_like(cost)).index_select(0, order).to(torch::kFloat64);
    const auto spent_before = c_sorted.cumsum(0) - c_sorted;
    const auto taken = ((budget - spent_before) / c_sorted).clamp(0, 1);
    return constant + free_part + (g_sorted * taken).sum();
}

}  // namespace

double subspace_lower_bound(const RoundingProblem& p, double max_full_ratio, int64_t iterations) {
    torch::NoGradGuard no_grad;
    if (!(p.rtn_subspace2 > 0)) return 0;  // RTN already exact in the subspace: nothing to bound
    const auto nb = rtn_neighbours(p);
    const auto e0 = nb.base - p.w.reshape({-1});
    Relaxation r{p};
    r.n = p.w.size(1);
    r.d = nb.delta;
    r.c = r.d * (2 * e0 + r.d);
    r.p0 = torch::matmul(torch::matmul(p.sub.u.t(), e0.view({-1, r.n})), p.sub.v);
    r.inv_l0 = 1.0 / p.rtn_subspace2;
    const auto start = fetch({(r.d * r.d).max(), squares64(r.p0), squares64(e0)});
    const double d2_max = start[0], f_rtn_base = start[1] * r.inv_l0;
    // Clamped at 0: a superset of the feasible roundings keeps the bound valid.
    r.budget = std::max(0.0, max_full_ratio * max_full_ratio * p.rtn_full2 - start[2]);
    if (!(d2_max > 0)) return std::sqrt(f_rtn_base);  // nothing can move
    const double tol = kProjectionTol * (r.budget > 0 ? r.budget : p.rtn_full2);

    // f(x) = ||P(x)||^2 / L0 with P linear in x, so P at the extrapolated point is the same
    // combination of P at the last two iterates: one projection and one expansion per step.
    auto x = torch::zeros_like(r.d);
    auto px = r.p0;
    auto z = x, pz = px;
    double t = 1, lambda = 0, f_x = f_rtn_base, best = 0;
    for (int64_t it = 1; it <= iterations; ++it) {
        // Step 1/Lip, Lip = 2 max d^2 / L0: y = z - d o (U P V^T) / max d^2.
        const auto y = z - r.d * r.expand(pz) / d2_max;
        auto xn = project(r, y, lambda, tol);
        auto pn = r.p0 + r.project_moves(xn);
        const double f_n = sum_squares(pn) * r.inv_l0;
        const bool last = it == iterations;
        if (it % kCheckEvery == 0 || last) {
            const auto g = (2 * r.inv_l0) * r.d * r.expand(pn);
            const auto lin = fetch({linear_minimum(r, g) - sum64(g * xn)})[0];
            best = std::max(best, f_n + lin);
            if (f_n - best <= kTargetGap * f_n + kFloorGap) break;
        }
        if (f_n > f_x) {  // restart the momentum (O'Donoghue & Candes) instead of climbing
            t = 1;
            z = xn, pz = pn;
        } else {
            const double tn = (1 + std::sqrt(1 + 4 * t * t)) / 2, beta = (t - 1) / tn;
            z = xn + beta * (xn - x);
            pz = pn + beta * (pn - px);
            t = tn;
        }
        x = std::move(xn), px = std::move(pn), f_x = f_n;
    }
    return std::sqrt(std::max(0.0, best));
}

}  // namespace ctq::engine
