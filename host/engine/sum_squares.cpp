#include "engine/problem.hpp"
#include "engine/torch_stream.hpp"

#include <ctq/kernels/sum_squares.hpp>

#include <algorithm>

namespace ctq::engine {

namespace {
constexpr int64_t kChunk = int64_t(1) << 20;  // elements per FP64 chunk on the CPU (8 MiB)

#ifdef CTQ_HAVE_CUDA
// One pass and no FP64 temporaries (kernels/cuda/sum_squares.cu), in a fixed order.
torch::Tensor squares64_cuda(const torch::Tensor& t) {
    const auto x = t.contiguous();
    auto out = torch::empty({}, x.options().dtype(torch::kFloat64));
    auto scratch = torch::empty({static_cast<int64_t>(kern::sum_squares_scratch_bytes())},
                                x.options().dtype(torch::kUInt8));
    kern::sum_squares_cuda(x.data_ptr<float>(), x.numel(), out.data_ptr<double>(), scratch.data_ptr(),
                           torch_stream(x.device()));
    return out;
}
#endif
}  // namespace

torch::Tensor squares64(const torch::Tensor& t) {
#ifdef CTQ_HAVE_CUDA
    if (t.is_cuda() && t.scalar_type() == torch::kFloat32) return squares64_cuda(t);
#endif
    if (t.is_cuda() || t.numel() <= kChunk) return t.to(torch::kFloat64).pow(2).sum();
    const auto flat = t.reshape({-1});
    double sum = 0;
    for (int64_t at = 0; at < flat.numel(); at += kChunk)
        sum += flat.narrow(0, at, std::min(kChunk, flat.numel() - at)).to(torch::kFloat64).pow_(2).sum().item<double>();
    return torch::scalar_tensor(sum, torch::kFloat64);
}

double sum_squares(const torch::Tensor& t) { return squares64(t).item<double>(); }

}  // namespace ctq::engine
