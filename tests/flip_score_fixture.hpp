// Random search states for the flip-score kernels' tests (CPU and GPU): a layer's moves, errors,
// G (as F32 and as BF16 bits) and row/column norms, with moves of both signs and unmovable
// elements (delta 0), scaled as in a real search (d ~ one grid step, e within half of it).
#pragma once

#include <ctq/kernels/flip_score.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace ctq::test {

struct FlipState {
    int64_t rows, cols;
    std::vector<float> g, delta, err, ru, rv;
    std::vector<uint16_t> g_bf16;

    FlipState(int64_t r, int64_t c, uint32_t seed) : rows(r), cols(c) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::uniform_real_distribution<float> unit(0.0f, 1.0f);
        const auto n = static_cast<size_t>(r * c);
        g.resize(n), delta.resize(n), err.resize(n), g_bf16.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const float step = 0.01f * (0.5f + unit(rng));
            const float u = unit(rng);
            delta[i] = u < 0.1f ? 0.0f : (u < 0.55f ? step : -step);
            err[i] = (unit(rng) - 0.5f) * step;
            g[i] = normal(rng) * 1e-3f;
            g_bf16[i] = kern::f32_to_bf16(g[i]);
        }
        for (int64_t i = 0; i < r; ++i) ru.push_back(unit(rng) * 0.01f);
        for (int64_t j = 0; j < c; ++j) rv.push_back(unit(rng) * 0.01f);
    }

    // Inputs over host arrays, or over any copies of them (device pointers) given instead.
    kern::FlipScoreInputs inputs(bool bf16, const void* g_ptr = nullptr, const float* d = nullptr,
                                 const float* e = nullptr, const float* r = nullptr, const float* c = nullptr) const {
        kern::FlipScoreInputs in{};
        in.g = g_ptr ? g_ptr : (bf16 ? static_cast<const void*>(g_bf16.data()) : g.data());
        in.g_bf16 = bf16;
        in.delta = d ? d : delta.data();
        in.err = e ? e : err.data();
        in.row_norm2 = r ? r : ru.data();
        in.col_norm2 = c ? c : rv.data();
        in.rows = rows;
        in.cols = cols;
        in.c_g = 2.0f / 3e-4f;  // 2 / ||P_rtn||^2
        in.c_self = 1.0f / 3e-4f;
        in.c_full = 16.0f / 2.5e-2f;  // weight / ||E_rtn||^2
        return in;
    }
};

}  // namespace ctq::test
