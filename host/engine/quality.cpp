#include "engine/quality.hpp"

#include "engine/device.hpp"
#include "engine/subspace.hpp"

#include <cmath>

namespace ctq {

namespace {

struct Projected {
    double error, signal;
};

Projected project(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t k, uint64_t seed,
                  bool exact, const std::string& device) {
    torch::NoGradGuard no_grad;
    const torch::Device d = engine::checked_device(device, "verify");
    const auto wt = torch::from_blob(const_cast<float*>(w), {rows, cols}, torch::kFloat32).to(d);
    const auto qt = torch::from_blob(const_cast<float*>(wq), {rows, cols}, torch::kFloat32).to(d);
    engine::SubspaceOptions so;
    so.k = k;
    so.seed = seed;
    so.exact = exact;
    so.gram = d.is_cuda();  // as the engine does on CUDA
    const auto sub = engine::principal_subspace(wt, so);
    return {std::sqrt(engine::projected_energy(sub, qt - wt)), std::sqrt(engine::projected_energy(sub, wt))};
}

}  // namespace

double subspace_error(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t k, uint64_t seed,
                      bool exact, const std::string& device) {
    return project(w, wq, rows, cols, k, seed, exact, device).error;
}

double relative_subspace_error(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t k,
                               uint64_t seed, bool exact, const std::string& device) {
    const auto p = project(w, wq, rows, cols, k, seed, exact, device);
    return p.signal > 0 ? p.error / p.signal : 0.0;
}

double relative_full_error(const float* w, const float* wq, int64_t rows, int64_t cols) {
    double err = 0, sig = 0;
    for (int64_t i = 0; i < rows * cols; ++i) {
        const double d = static_cast<double>(wq[i]) - w[i];
        err += d * d;
        sig += static_cast<double>(w[i]) * w[i];
    }
    return sig > 0 ? std::sqrt(err / sig) : std::sqrt(err);
}

int64_t learned_rank(int64_t rows, int64_t cols, double top_p, int64_t min_k, int64_t max_k) {
    return engine::subspace_rank(rows, cols, top_p, min_k, max_k);
}

}  // namespace ctq
