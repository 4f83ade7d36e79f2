#include "engine/bias_correction.hpp"

#include "core/error.hpp"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <map>

namespace ctq {

struct SyntheticCalibration::Impl {
    at::Generator generator;
    std::map<int64_t, std::vector<float>> inputs;
};

SyntheticCalibration::SyntheticCalibration(uint64_t seed, int64_t samples)
    : impl_(std::make_unique<Impl>(Impl{at::detail::createCPUGenerator(seed), {}})), samples_(samples) {
    if (samples < 1) fail("", "", "bias correction: calib_samples must be at least 1");
}

SyntheticCalibration::~SyntheticCalibration() = default;

const std::vector<float>& SyntheticCalibration::inputs(int64_t in_features) {
    auto it = impl_->inputs.find(in_features);
    if (it != impl_->inputs.end()) return it->second;
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({samples_, in_features}, impl_->generator, torch::kFloat32).contiguous();
    std::vector<float> v(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    return impl_->inputs.emplace(in_features, std::move(v)).first->second;
}

std::vector<float> SyntheticCalibration::correction(const float* w, const float* w_dq, int64_t rows,
                                                    int64_t in_features) {
    torch::NoGradGuard no_grad;
    const auto& xv = inputs(in_features);
    const auto x = torch::from_blob(const_cast<float*>(xv.data()), {samples_, in_features}, torch::kFloat32);
    const auto wt = torch::from_blob(const_cast<float*>(w), {rows, in_features}, torch::kFloat32);
    const auto qt = torch::from_blob(const_cast<float*>(w_dq), {rows, in_features}, torch::kFloat32);
    const auto c = torch::matmul(x, (wt - qt).t()).mean(0).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + rows);
}

}  // namespace ctq
