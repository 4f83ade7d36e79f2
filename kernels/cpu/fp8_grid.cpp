// Grid operations for learned rounding on the CPU. The grid of an element is every non-NaN code
// decoded and multiplied by its tile's stored scale; walking codes in value order ("ordinals",
// -max_code..max_code) from the round-to-nearest guess gives exact answers whatever rounding the
// guess suffered.
#include <ctq/kernels/fp8.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace ctq::kern {
namespace {

template <class F>
struct Grid {
    static constexpr int kTop = static_cast<int>(F::kMaxCode);

    static uint8_t code(int ord, bool negative_zero = false) {
        if (ord == 0) return negative_zero ? 0x80 : 0x00;
        return static_cast<uint8_t>(ord > 0 ? ord : (0x80 | -ord));
    }
    static int ordinal(uint8_t c) { return (c & 0x80) ? -int(c & 0x7f) : int(c); }
    static float value(int ord, float d) { return fp8_decode<F>(code(ord)) * d; }

    // Ordinal of the largest grid value <= x, for |x| below the saturated ends.
    static int floor_ordinal(float x, float d) {
        int g = ordinal(fp8_encode<F>(x / d));
        while (g > -kTop && value(g, d) > x) --g;
        while (g < kTop && value(g + 1, d) <= x) ++g;
        return g;
    }
};

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
        using G = Grid<decltype(fmt)>;
        for_each_element(t, scale, [&](int64_t i, float d) {
            const float v = x[i], top = G::value(G::kTop, d);
            if (std::isnan(v)) {
                lo[i] = hi[i] = std::numeric_limits<float>::quiet_NaN();
            } else if (v >= top || v <= -top) {
                lo[i] = hi[i] = v >= top ? top : -top;
            } else {
                const int g = G::floor_ordinal(v, d);
                lo[i] = G::value(g, d);
                hi[i] = lo[i] == v ? lo[i] : G::value(g + 1, d);
            }
        });
    });
}

int64_t fp8_encode_values_cpu(const float* v, const Fp8Tiling& t, const float* scale,
                              Fp8Format f, uint8_t* codes) {
    std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
    with_fp8_format(f, [&](auto fmt) {
        using G = Grid<decltype(fmt)>;
        for_each_element(t, scale, [&](int64_t i, float d) {
            const float x = v[i];
            const int g = std::isnan(x) ? 0 : G::floor_ordinal(x, d);
            if (!std::isnan(x) && G::value(g, d) == x) {
                codes[i] = G::code(g, std::signbit(x));
                return;
            }
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
