// GPU machine only: the search's fused batch kernels on CUDA (engine/flip_moves.hpp) give the
// bits of their CPU twins and of the LibTorch CUDA ops they replaced in flip_search.cpp, on a
// layer-sized state (a batch of 200k flips over a 2048x1536 layer, k = 128).
#include "engine/flip_moves.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace ctq;

namespace {

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
    const auto x = a.to(torch::kCPU).contiguous(), y = b.to(torch::kCPU).contiguous();
    return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

}  // namespace

TEST_CASE("flip moves on CUDA: the CPU twins' bits and LibTorch's") {
    if (!torch::cuda::is_available()) {
        MESSAGE("skipped: this LibTorch has no usable CUDA device");
        return;
    }
    torch::NoGradGuard no_grad;
    torch::manual_seed(11);
    const int64_t rows = 2048, cols = 1536, k = 128, n = rows * cols;
    auto delta = torch::randn({n}) * torch::randint(0, 3, {n}).to(torch::kFloat32).sub_(1);
    auto err = (torch::rand({n}) - 0.5f) * delta.abs();
    const auto u = torch::randn({rows, k}), v = torch::randn({cols, k});
    const auto idx = torch::randperm(n, torch::kInt64).narrow(0, 0, 200000);
    const torch::Device gpu(torch::kCUDA);
    const auto delta_g = delta.to(gpu), err_g = err.to(gpu), u_g = u.to(gpu), v_g = v.to(gpu), idx_g = idx.to(gpu);

    const auto [d_c, df_c] = engine::gather_moves(idx, delta, err);
    const auto [d_g, df_g] = engine::gather_moves(idx_g, delta_g, err_g);
    CHECK(same_bits(d_g, d_c));
    CHECK(same_bits(df_g, df_c));
    const auto d_ref = delta_g.index_select(0, idx_g);
    CHECK(same_bits(df_g, (2 * err_g.index_select(0, idx_g)).add_(d_ref).mul_(d_ref).to(torch::kFloat64)));

    const auto [ud_c, vs_c] = engine::low_rank_factors(idx, d_c, u, v);
    const auto [ud_g, vs_g] = engine::low_rank_factors(idx_g, d_g, u_g, v_g);
    CHECK(same_bits(ud_g, ud_c));
    CHECK(same_bits(vs_g, vs_c));
    CHECK(same_bits(ud_g, u_g.index_select(0, torch::div(idx_g, cols, "trunc")) * d_ref.unsqueeze(1)));

    auto err_c = err.clone(), delta_c = delta.clone();
    auto err_gm = err_g.clone(), delta_gm = delta_g.clone();
    engine::apply_moves(idx, err_c, delta_c);
    engine::apply_moves(idx_g, err_gm, delta_gm);
    CHECK(same_bits(err_gm, err_c));
    CHECK(same_bits(delta_gm, delta_c));
    auto err_ref = err_g.clone(), delta_ref = delta_g.clone();
    err_ref.index_add_(0, idx_g, d_ref);
    delta_ref.index_put_({idx_g}, -d_ref);
    CHECK(same_bits(err_gm, err_ref));
    CHECK(same_bits(delta_gm, delta_ref));
}
