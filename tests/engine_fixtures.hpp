// Shared by the engine tests: a test-only layout (uniform INT8 grid, one scale per row, the
// reference's per-row math) and the structured weights of ../shared/golden/make_fixture.py.
#pragma once

#include "engine/problem.hpp"
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <ctq/plugin.hpp>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace ctq::test {

class UniformRowInt8 : public Layout {
public:
    const char* name() const override { return "test_int8_row"; }
    const char* description() const override { return "test-only INT8 per-row grid"; }
    const char* family() const override { return "int8"; }
    const char* scaling_modes() const override { return "row"; }
    ctq_dtype storage_dtype() const override { return CTQ_DTYPE_I8; }
    uint32_t flags() const override { return CTQ_LAYOUT_SUPPORTS_LEARNED; }

    std::vector<ctq_tensor_spec> output_specs(Shape2 s, const ctq_layout_params&) const override {
        return {make_spec(".weight", CTQ_DTYPE_I8, {s.rows, s.cols}),
                make_spec(".weight_scale", CTQ_DTYPE_F32, {s.rows, 1})};
    }
    std::string comfy_quant_json(const ctq_layout_params&) const override {
        return R"({"format": "test_int8_row"})";
    }
    void quantize(const ctq_tensor_view& w, const ctq_layout_params&, ctq_tensor_view* outs,
                  int) const override {
        const auto* x = static_cast<const float*>(w.data);
        auto* q = static_cast<int8_t*>(outs[0].data);
        auto* d = static_cast<float*>(outs[1].data);
        const int64_t m = w.shape[0], n = w.shape[1];
        for (int64_t i = 0; i < m; ++i) {
            float amax = 0;
            for (int64_t j = 0; j < n; ++j) amax = std::max(amax, std::abs(x[i * n + j]));
            d[i] = std::max(amax, 1e-12f) / 127.0f;
            for (int64_t j = 0; j < n; ++j)
                q[i * n + j] = static_cast<int8_t>(std::nearbyint(std::clamp(x[i * n + j] / d[i], -127.0f, 127.0f)));
        }
    }
    void dequantize(const ctq_tensor_view* outs, int, const ctq_layout_params&,
                    ctq_tensor_view& w) const override {
        each(outs, [&](int64_t k, float d) { static_cast<float*>(w.data)[k] = code(outs, k) * d; });
    }
    void bracket(const ctq_tensor_view& x, const ctq_tensor_view* outs, int, const ctq_layout_params&,
                 ctq_tensor_view& lo, ctq_tensor_view& hi) const override {
        const auto* xv = static_cast<const float*>(x.data);
        each(outs, [&](int64_t k, float d) {
            const float t = std::clamp(xv[k] / d, -127.0f, 127.0f);
            static_cast<float*>(lo.data)[k] = std::floor(t) * d;
            static_cast<float*>(hi.data)[k] = std::ceil(t) * d;
        });
    }
    void encode_values(const ctq_tensor_view& v, ctq_tensor_view* outs, int,
                       const ctq_layout_params&) const override {
        const auto* vv = static_cast<const float*>(v.data);
        each(outs, [&](int64_t k, float d) {
            static_cast<int8_t*>(outs[0].data)[k] = static_cast<int8_t>(std::nearbyint(vv[k] / d));
        });
    }
    void expand_scale(const ctq_tensor_view* outs, int, const ctq_layout_params&,
                      ctq_tensor_view& s) const override {
        each(outs, [&](int64_t k, float d) { static_cast<float*>(s.data)[k] = d; });
    }

private:
    static float code(const ctq_tensor_view* outs, int64_t k) {
        return static_cast<float>(static_cast<const int8_t*>(outs[0].data)[k]);
    }
    template <class Fn>
    static void each(const ctq_tensor_view* outs, Fn fn) {
        const auto* d = static_cast<const float*>(outs[1].data);
        const int64_t m = outs[0].shape[0], n = outs[0].shape[1];
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) fn(i * n + j, d[i]);
    }
};

// make_fixture.py's structured(): power-law spectrum, 20 % Gaussian noise, 4 outlier columns.
inline std::vector<float> structured_weight(int64_t rows, int64_t cols, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto g = at::detail::createCPUGenerator(seed);
    const int64_t k = std::min(rows, cols);
    const auto u = std::get<0>(torch::linalg_qr(torch::randn({rows, k}, g, torch::kFloat32)));
    const auto v = std::get<0>(torch::linalg_qr(torch::randn({cols, k}, g, torch::kFloat32)));
    const auto s = torch::pow(torch::arange(1, k + 1, torch::kFloat32), -0.55);
    auto w = torch::matmul(u * s, v.t());
    w = w / w.std() * 0.02 + 0.004 * torch::randn({rows, cols}, g, torch::kFloat32);
    const auto outliers = torch::randperm(cols, g, torch::kInt64).narrow(0, 0, std::min<int64_t>(4, cols));
    w.index_copy_(1, outliers, w.index_select(1, outliers) * 6.0);
    w = w.contiguous();
    return std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
}

// The test layout with one scale per row, for the layer `name` (errors carry it).
inline LayoutOps row_int8_ops(const std::string& name) {
    static UniformRowInt8 layout;
    ctq_layout_params params{};
    params.struct_size = sizeof params;
    params.scaling_mode = CTQ_SCALING_ROW;
    return LayoutOps(*layout.descriptor(), params, name);
}

inline std::filesystem::path plugin_file(const char* name) {
    return std::filesystem::path(CTQ_BINARY_DIR) / "bin" / "plugins" / name;
}

// Sum of squares in one FP64 reduction, independent of the engine's chunked engine::sum_squares.
inline double sum_squares64(const torch::Tensor& t) { return t.to(torch::kFloat64).pow(2).sum().item<double>(); }

inline torch::Tensor orthonormal(int64_t rows, int64_t k) {
    return std::get<0>(torch::linalg_qr(torch::randn({rows, k})));
}

// A search problem on a uniform grid with one step per row (INT8 per row: step = amax / 127),
// RTN ties to lo, in the subspace spanned by the columns of u and v.
inline engine::RoundingProblem grid_problem(const torch::Tensor& w, const torch::Tensor& step,
                                            const torch::Tensor& u, const torch::Tensor& v) {
    engine::RoundingProblem p;
    p.w = w;
    p.lo = torch::floor(w / step) * step;
    p.hi = torch::ceil(w / step) * step;
    p.rtn = torch::where(w - p.lo <= p.hi - w, p.lo, p.hi);
    p.scale = step.expand_as(w).contiguous();
    p.sub.u = u;
    p.sub.v = v;
    p.rtn_subspace2 = sum_squares64(torch::matmul(torch::matmul(u.t(), p.rtn - w), v));
    p.rtn_full2 = sum_squares64(p.rtn - w);
    return p;
}

}  // namespace ctq::test
