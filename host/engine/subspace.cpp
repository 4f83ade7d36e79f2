#include "engine/subspace.hpp"

#include "engine/problem.hpp"  // sum_squares

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace ctq::engine {

int64_t subspace_rank(int64_t rows, int64_t cols, double top_p, int64_t min_k, int64_t max_k) {
    const int64_t r = std::min(rows, cols);
    const auto by_fraction = static_cast<int64_t>(std::floor(top_p * static_cast<double>(r)));
    const int64_t k = std::min(max_k, std::max(min_k, by_fraction));
    return std::max<int64_t>(1, std::min(k, r));
}

namespace {

torch::Tensor orthonormal_basis(const torch::Tensor& a) {
    return std::get<0>(torch::linalg_qr(a, "reduced"));
}

Subspace exact_subspace(const torch::Tensor& w, int64_t k) {
    auto [u, s, vh] = torch::linalg_svd(w, /*full_matrices=*/false);
    return {u.narrow(1, 0, k).contiguous(), vh.narrow(0, 0, k).t().contiguous()};
}

// Q with orthonormal columns spanning a's (CholeskyQR2 in FP64: R = chol(A^T A), Q = A R^-1,
// twice, which is orthonormal to FP64 rounding for cond(A) up to ~1e7). A rank-deficient
// block makes the Cholesky fail; Householder QR then takes over.
torch::Tensor gram_basis(const torch::Tensor& a) {
    auto q = a.to(torch::kFloat64);
    for (int pass = 0; pass < 2; ++pass) {
        auto [r, info] = torch::linalg_cholesky_ex(torch::matmul(q.t(), q), /*upper=*/true);
        if (info.item<int64_t>() != 0) return orthonormal_basis(a);
        q = torch::linalg_solve_triangular(r, q, /*upper=*/true, /*left=*/false);
    }
    return q.to(a.scalar_type());
}

// Top-k singular subspaces of the short, wide B (width x N) from the eigenpairs of B B^T.
std::pair<torch::Tensor, torch::Tensor> gram_small_svd(const torch::Tensor& b, int64_t k) {
    const auto b64 = b.to(torch::kFloat64);
    const auto [values, vectors] = torch::linalg_eigh(torch::matmul(b64, b64.t()));  // ascending
    const auto ub = vectors.flip({1}).narrow(1, 0, k);
    // V_k spans B^T U_k; its orthonormal basis is all the projection needs (||U^T E V|| does not
    // change under rotations within either subspace).
    return {ub.to(b.scalar_type()), gram_basis(torch::matmul(b64.t(), ub)).to(b.scalar_type())};
}

// The exact top-k subspaces: gram_small_svd on W laid out short side first (GEMM + eigh, on CUDA
// far faster than gesvd on tall shapes).
Subspace exact_gram_subspace(const torch::Tensor& w, int64_t k) {
    const bool wide = w.size(0) < w.size(1);
    const auto [short_side, long_side] = gram_small_svd(wide ? w : w.t(), k);
    return wide ? Subspace{short_side.contiguous(), long_side.contiguous()}
                : Subspace{long_side.contiguous(), short_side.contiguous()};
}

// Randomized range finder with power iterations; the small SVD runs on B = Q^T W.
Subspace randomized_subspace(const torch::Tensor& w, const SubspaceOptions& opt) {
    const int64_t n = w.size(1), r = std::min(w.size(0), n);
    const int64_t width = std::min(opt.k + std::max<int64_t>(opt.oversample, 0), r);
    auto gen = at::detail::createCPUGenerator(opt.seed);
    const auto omega = torch::randn({n, width}, gen, torch::kFloat32).to(w.device());
    const auto basis = opt.gram ? gram_basis : orthonormal_basis;
    auto q = basis(torch::matmul(w, omega));
    for (int64_t i = 0; i < opt.power_iterations; ++i) {
        // CholeskyQR2 in FP64 stays orthonormal up to cond ~1e7, which W W^T Q reaches only
        // for spectra far steeper than a weight's, so the Gram path skips the half-step basis.
        const auto wt_q = torch::matmul(w.t(), q);
        q = basis(torch::matmul(w, opt.gram ? wt_q : basis(wt_q)));
    }
    const auto b = torch::matmul(q.t(), w);
    if (opt.gram) {
        const auto [ub, vk] = gram_small_svd(b, opt.k);
        return {torch::matmul(q, ub).contiguous(), vk.contiguous()};
    }
    auto [ub, s, vh] = torch::linalg_svd(b, /*full_matrices=*/false);
    return {torch::matmul(q, ub.narrow(1, 0, opt.k)).contiguous(),
            vh.narrow(0, 0, opt.k).t().contiguous()};
}

}  // namespace

Subspace principal_subspace(const torch::Tensor& w, const SubspaceOptions& opt) {
    torch::NoGradGuard no_grad;
    const int64_t r = std::min(w.size(0), w.size(1));
    TORCH_CHECK(opt.k >= 1 && opt.k <= r, "subspace rank ", opt.k, " outside [1, ", r, "]");
    // The range finder gains nothing once it would span the whole space.
    if (opt.exact || opt.k + opt.oversample >= r)
        return opt.gram ? exact_gram_subspace(w, opt.k) : exact_subspace(w, opt.k);
    return randomized_subspace(w, opt);
}

double projected_energy(const Subspace& s, const torch::Tensor& e) {
    torch::NoGradGuard no_grad;
    const auto p = torch::matmul(torch::matmul(s.u.t(), e), s.v);
    return sum_squares(p);
}

}  // namespace ctq::engine
