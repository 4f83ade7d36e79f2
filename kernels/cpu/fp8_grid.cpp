// Grid operations for learned rounding on the CPU: the element functions of ctq/kernels/grid.hpp
// (shared with kernels/cuda/fp8_grid.cu), rows split between threads.
#include <ctq/kernels/fp8.hpp>
#include <ctq/kernels/grid.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <limits>

namespace ctq::kern {
namespace {

// Runs fn(index, scale) for every element, rows split between threads.
template <class Fn>
void for_each_element(const Fp8Tiling& t, const float* scale, Fn&& fn) {
    const int64_t across = t.tiles_across();
    parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* sc = scale + (r / t.tile_rows) * across;
            for (int64_t c = 0; c < t.cols; ++c) fn(r * t.cols + c, sc[c / t.tile_cols]);
        }
    });
}

}  // namespace

void fp8_bracket_cpu(const float* x, const Fp8Tiling& t, const float* scale, Fp8Format f,
                     float* lo, float* hi) {
    with_fp8_format(f, [&](auto fmt) {
        using F = decltype(fmt);
        for_each_element(t, scale, [&](int64_t i, float d) { fp8_bracket_element<F>(x[i], d, lo[i], hi[i]); });
    });
}

int64_t fp8_encode_values_cpu(const float* v, const Fp8Tiling& t, const float* scale,
                              Fp8Format f, uint8_t* codes) {
    std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
    with_fp8_format(f, [&](auto fmt) {
        using F = decltype(fmt);
        for_each_element(t, scale, [&](int64_t i, float d) {
            if (fp8_encode_value_element<F>(v[i], d, codes[i])) return;
            int64_t seen = first_bad.load();
            while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
            }
        });
    });
    const int64_t bad = first_bad.load();
    return bad == std::numeric_limits<int64_t>::max() ? -1 : bad;
}

void fp8_expand_scale_cpu(const Fp8Tiling& t, const float* scale, float* out) {
    for_each_element(t, scale, [&](int64_t i, float d) { out[i] = d; });
}

}  // namespace ctq::kern
