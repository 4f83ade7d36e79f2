#include "engine/flip_moves.hpp"

#include "engine/torch_stream.hpp"

#include <ctq/kernels/flip_moves.hpp>

namespace ctq::engine {

namespace {

bool on_cuda(const torch::Tensor& t) { return on_cuda_kernels(t, "flip moves"); }

void check_f32(const torch::Tensor& t, const char* what) {
    TORCH_CHECK(t.scalar_type() == torch::kFloat32 && t.is_contiguous(), "flip moves: ", what,
                " must be contiguous F32");
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> gather_moves(const torch::Tensor& idx, const torch::Tensor& delta,
                                                     const torch::Tensor& err) {
    check_f32(delta, "delta");
    check_f32(err, "the error");
    const auto index = idx.contiguous();
    const int64_t n = index.numel();
    auto d = torch::empty({n}, delta.options());
    auto dfull = torch::empty({n}, delta.options().dtype(torch::kFloat64));
    if (on_cuda(delta)) {
#ifdef CTQ_HAVE_CUDA
        kern::gather_moves_cuda(index.data_ptr<int64_t>(), n, delta.data_ptr<float>(), err.data_ptr<float>(),
                                d.data_ptr<float>(), dfull.data_ptr<double>(), torch_stream(d.device()));
#endif
    } else {
        kern::gather_moves_cpu(index.data_ptr<int64_t>(), n, delta.data_ptr<float>(), err.data_ptr<float>(),
                               d.data_ptr<float>(), dfull.data_ptr<double>());
    }
    return {d, dfull};
}

std::pair<torch::Tensor, torch::Tensor> low_rank_factors(const torch::Tensor& idx, const torch::Tensor& d,
                                                         const torch::Tensor& u, const torch::Tensor& v) {
    check_f32(u, "U");
    check_f32(v, "V");
    const auto index = idx.contiguous();
    const auto moves = d.contiguous();
    check_f32(moves, "the moves");
    const int64_t n = index.numel(), k = u.size(1), cols = v.size(0);
    auto ud = torch::empty({n, k}, u.options());
    auto vs = torch::empty({n, k}, v.options());
    if (on_cuda(u)) {
#ifdef CTQ_HAVE_CUDA
        kern::low_rank_factors_cuda(index.data_ptr<int64_t>(), moves.data_ptr<float>(), n, u.data_ptr<float>(),
                                    v.data_ptr<float>(), cols, k, ud.data_ptr<float>(), vs.data_ptr<float>(),
                                    torch_stream(u.device()));
#endif
    } else {
        kern::low_rank_factors_cpu(index.data_ptr<int64_t>(), moves.data_ptr<float>(), n, u.data_ptr<float>(),
                                   v.data_ptr<float>(), cols, k, ud.data_ptr<float>(), vs.data_ptr<float>());
    }
    return {ud, vs};
}

void apply_moves(const torch::Tensor& idx, torch::Tensor& err, torch::Tensor& delta) {
    check_f32(err, "the error");
    check_f32(delta, "delta");
    const auto index = idx.contiguous();
    if (on_cuda(delta)) {
#ifdef CTQ_HAVE_CUDA
        kern::apply_moves_cuda(index.data_ptr<int64_t>(), index.numel(), err.data_ptr<float>(),
                               delta.data_ptr<float>(), torch_stream(delta.device()));
#endif
        return;
    }
    kern::apply_moves_cpu(index.data_ptr<int64_t>(), index.numel(), err.data_ptr<float>(), delta.data_ptr<float>());
}

}  // namespace ctq::engine
