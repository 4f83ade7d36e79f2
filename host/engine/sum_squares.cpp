#include "engine/problem.hpp"

#include <algorithm>

namespace ctq::engine {

namespace {
constexpr int64_t kChunk = int64_t(1) << 20;  // elements per FP64 chunk on the CPU (8 MiB)
}

torch::Tensor squares64(const torch::Tensor& t) {
    if (t.is_cuda() || t.numel() <= kChunk) return t.to(torch::kFloat64).pow(2).sum();
    const auto flat = t.reshape({-1});
    double sum = 0;
    for (int64_t at = 0; at < flat.numel(); at += kChunk)
        sum += flat.narrow(0, at, std::min(kChunk, flat.numel() - at)).to(torch::kFloat64).pow_(2).sum().item<double>();
    return torch::scalar_tensor(sum, torch::kFloat64);
}

double sum_squares(const torch::Tensor& t) { return squares64(t).item<double>(); }

}  // namespace ctq::engine
