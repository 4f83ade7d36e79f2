// The principal subspace: the rank rule, the seeded randomized SVD against the exact one, and
// the verify measures built on it.
#include "engine/quality.hpp"
#include "engine/subspace.hpp"

#include "engine_fixtures.hpp"

#include <doctest/doctest.h>

using namespace ctq;

namespace {

torch::Tensor as_tensor(std::vector<float>& v, int64_t rows, int64_t cols) {
    return torch::from_blob(v.data(), {rows, cols}, torch::kFloat32);
}

// sum_i sigma_i^2 captured by U^T W V, i.e. ||U^T W V||_F^2.
double captured(const engine::Subspace& s, const torch::Tensor& w) { return engine::projected_energy(s, w); }

// U [m, k] and V [n, k], each with orthonormal columns.
void check_orthonormal(const engine::Subspace& s, int64_t m, int64_t n, int64_t k) {
    REQUIRE(s.u.sizes() == torch::IntArrayRef({m, k}));
    REQUIRE(s.v.sizes() == torch::IntArrayRef({n, k}));
    const auto eye = torch::eye(k);
    CHECK((torch::matmul(s.u.t(), s.u) - eye).abs().max().item<float>() < 1e-4f);
    CHECK((torch::matmul(s.v.t(), s.v) - eye).abs().max().item<float>() < 1e-4f);
}

}  // namespace

TEST_CASE("rank rule: floor(top_p * min(M, N)) clamped to [min_k, max_k] and to min(M, N)") {
    CHECK(engine::subspace_rank(3072, 3072, 0.2, 256, 1280) == 614);
    CHECK(engine::subspace_rank(3072, 12288, 0.2, 256, 1280) == 614);
    CHECK(engine::subspace_rank(12288, 3072, 0.2, 256, 1280) == 614);
    CHECK(engine::subspace_rank(1024, 4096, 0.2, 256, 1280) == 256);  // floor(204.8) < min_k
    CHECK(engine::subspace_rank(128, 3072, 0.2, 256, 1280) == 128);   // capped at min(M, N)
    CHECK(engine::subspace_rank(8192, 8192, 0.5, 256, 1280) == 1280); // max_k
    CHECK(engine::subspace_rank(100, 100, 0.05, 1, 1280) == 5);
    CHECK(learned_rank(3072, 3072, 0.2, 256, 1280) == 614);
}

TEST_CASE("randomized SVD captures the top-k energy of the exact SVD, seeded and orthonormal") {
    torch::NoGradGuard no_grad;
    const int64_t m = 300, n = 200, k = 20;
    auto wv = test::structured_weight(m, n, 3);
    const auto w = as_tensor(wv, m, n);
    engine::SubspaceOptions opt;
    opt.k = k;
    opt.seed = 11;
    const auto fast = engine::principal_subspace(w, opt);
    opt.exact = true;
    const auto exact = engine::principal_subspace(w, opt);

    check_orthonormal(fast, m, n, k);
    // The exact top-k captures sum_{i<=k} sigma_i^2, the most any rank-k pair can; four power
    // iterations must come within 0.1 % of it on this slowly decaying (power-law) spectrum.
    const double best = captured(exact, w), got = captured(fast, w);
    CHECK(got <= best * (1 + 1e-5));
    CHECK(got >= best * (1 - 1e-3));

    opt.exact = false;
    const auto again = engine::principal_subspace(w, opt);
    CHECK(torch::equal(again.u, fast.u));
    CHECK(torch::equal(again.v, fast.v));
    opt.seed = 12;
    CHECK_FALSE(torch::equal(engine::principal_subspace(w, opt).u, fast.u));
}

TEST_CASE("the Gram-based randomized SVD (the CUDA path) captures what the Householder one does") {
    torch::NoGradGuard no_grad;
    const int64_t m = 400, n = 250, k = 24;
    auto wv = test::structured_weight(m, n, 8);
    const auto w = as_tensor(wv, m, n);
    engine::SubspaceOptions opt;
    opt.k = k;
    opt.seed = 2;
    const auto householder = engine::principal_subspace(w, opt);
    opt.gram = true;
    const auto gram = engine::principal_subspace(w, opt);
    check_orthonormal(gram, m, n, k);
    // Same seed, same range finder: the two factorizations differ only by rounding.
    CHECK(captured(gram, w) == doctest::Approx(captured(householder, w)).epsilon(1e-5));
    // A rank-deficient weight (rank 5 < k) still gives an orthonormal basis (Householder fallback).
    const auto low = torch::matmul(torch::randn({m, 5}), torch::randn({5, n}));
    const auto s = engine::principal_subspace(low, opt);
    CHECK((torch::matmul(s.u.t(), s.u) - torch::eye(k)).abs().max().item<float>() < 1e-3f);
}

TEST_CASE("subspace_error matches a direct projection on the exact subspace when k spans all") {
    const int64_t m = 32, n = 32, k = 32;  // square and k = M = N: U, V are rotations
    auto w = test::structured_weight(m, n, 5);
    auto wq = w;
    for (size_t i = 0; i < wq.size(); i += 7) wq[i] += 1e-3f;
    double direct = 0;
    for (size_t i = 0; i < w.size(); ++i) direct += double(wq[i] - w[i]) * double(wq[i] - w[i]);
    CHECK(subspace_error(w.data(), wq.data(), m, n, k, 1) == doctest::Approx(std::sqrt(direct)).epsilon(1e-4));
    CHECK(relative_full_error(w.data(), wq.data(), m, n) > 0);
    CHECK(relative_full_error(w.data(), w.data(), m, n) == 0);
    CHECK(relative_subspace_error(w.data(), w.data(), m, n, 4, 1) == 0);
}

TEST_CASE("the exact Gram subspace (the CUDA path) spans the SVD's top-k on tall and wide weights") {
    torch::NoGradGuard no_grad;
    for (const auto& [m, n] : {std::pair<int64_t, int64_t>{240, 96}, {96, 240}}) {
        CAPTURE(m);
        CAPTURE(n);
        const int64_t k = 24;
        auto wv = test::structured_weight(m, n, 5);
        const auto w = as_tensor(wv, m, n);
        engine::SubspaceOptions opt;
        opt.k = k;
        opt.exact = true;
        const auto svd = engine::principal_subspace(w, opt);
        opt.gram = true;
        const auto gram = engine::principal_subspace(w, opt);
        check_orthonormal(gram, m, n, k);
        // Same spans: each basis projects onto the other's without loss (||U_a^T U_b||^2 = k),
        // so any error measured through them is the same.
        CHECK(torch::matmul(svd.u.t(), gram.u).pow(2).sum().item<double>() == doctest::Approx(k).epsilon(1e-4));
        CHECK(torch::matmul(svd.v.t(), gram.v).pow(2).sum().item<double>() == doctest::Approx(k).epsilon(1e-4));
    }
}
