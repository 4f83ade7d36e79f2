// The search's fused batch kernels (ctq/kernels/flip_moves.hpp, CPU twin through
// engine/flip_moves.hpp) give the bits of the LibTorch ops they replaced in flip_search.cpp:
// index_select, (2e + d) d widened to F64, U[rows] * d, V[cols], index_add_ and index_put_.
#include "engine/flip_moves.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace ctq;

namespace {

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
    const auto x = a.contiguous(), y = b.contiguous();
    return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

// A search-like state: moves of both signs and zeros (elements that cannot move), errors up to
// half a move, and a few large magnitudes where rounding matters most.
struct State {
    int64_t rows = 96, cols = 80, k = 24;
    torch::Tensor delta, err, u, v, idx;
    explicit State(uint64_t seed) {
        torch::manual_seed(seed);
        const int64_t n = rows * cols;
        delta = torch::randn({n}) * torch::randint(0, 3, {n}).to(torch::kFloat32).sub_(1);
        err = (torch::rand({n}) - 0.5f) * delta.abs();
        delta.narrow(0, 0, 7).mul_(3e4f);
        err.narrow(0, 0, 7).mul_(1e4f);
        u = torch::randn({rows, k});
        v = torch::randn({cols, k});
        idx = torch::randperm(n, torch::kInt64).narrow(0, 0, n / 3);  // distinct, as the search's
    }
};

}  // namespace

TEST_CASE("flip moves: gather_moves is index_select and (2e + d) d in float, widened") {
    for (uint64_t seed : {1, 2, 3}) {
        const State s(seed);
        const auto [d, dfull] = engine::gather_moves(s.idx, s.delta, s.err);
        const auto d_ref = s.delta.index_select(0, s.idx);
        const auto e_ref = s.err.index_select(0, s.idx);
        CHECK(same_bits(d, d_ref));
        CHECK(same_bits(dfull, (2 * e_ref).add_(d_ref).mul_(d_ref).to(torch::kFloat64)));
    }
    const State s(4);
    const auto [d, dfull] = engine::gather_moves(s.idx.narrow(0, 0, 0), s.delta, s.err);
    CHECK(d.numel() == 0);
    CHECK(dfull.numel() == 0);
}

TEST_CASE("flip moves: low_rank_factors is U[idx / cols] * d and V[idx % cols]") {
    for (uint64_t seed : {5, 6}) {
        const State s(seed);
        const auto d = s.delta.index_select(0, s.idx);
        const auto [ud, vs] = engine::low_rank_factors(s.idx, d, s.u, s.v);
        const auto rows = torch::div(s.idx, s.cols, "trunc"), cols = s.idx.remainder(s.cols);
        CHECK(same_bits(ud, s.u.index_select(0, rows) * d.unsqueeze(1)));
        CHECK(same_bits(vs, s.v.index_select(0, cols)));
    }
}

TEST_CASE("flip moves: apply_moves is index_add_ of the moves and index_put_ of their negation") {
    for (uint64_t seed : {7, 8}) {
        const State s(seed);
        auto err = s.err.clone(), delta = s.delta.clone();
        engine::apply_moves(s.idx, err, delta);
        auto err_ref = s.err.clone(), delta_ref = s.delta.clone();
        const auto d = delta_ref.index_select(0, s.idx);
        err_ref.index_add_(0, s.idx, d);
        delta_ref.index_put_({s.idx}, -d);
        CHECK(same_bits(err, err_ref));
        CHECK(same_bits(delta, delta_ref));
        // Untouched elements keep their bits; moved ones can move back.
        engine::apply_moves(s.idx, err, delta);
        CHECK(same_bits(delta, s.delta));
    }
}

TEST_CASE("flip moves: wrong dtypes are refused") {
    const State s(9);
    CHECK_THROWS(engine::gather_moves(s.idx, s.delta.to(torch::kFloat64), s.err));
    CHECK_THROWS(engine::low_rank_factors(s.idx, s.delta.index_select(0, s.idx), s.u.to(torch::kFloat64), s.v));
}
