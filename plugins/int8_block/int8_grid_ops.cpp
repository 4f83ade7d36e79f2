// Learned-rounding grid operations of the INT8 layouts. The grid of an element is
// {code * stored_scale : code in [-127, 127]} with the scale of its tile; values are formed
// exactly as dequantize forms them (one float multiply). For ConvRot layers the grid lives in
// the rotated domain: the caller works on W_rot = W · blockdiag(H)^T (hadamard_rotate_rows_cpu).
#include "int8_layout.hpp"

#include <cmath>
#include <string>

namespace ctq::int8 {

namespace {

using kern::int8_decode;

// lo <= x <= hi on the grid of `scale`; lo == hi when x is on the grid or beyond +-127 steps.
void bracket_one(float x, float scale, float& lo, float& hi) {
    const auto value = [scale](float code) { return int8_decode(static_cast<int8_t>(code), scale); };
    float f = std::floor(kern::int8_div_rn(x, scale));
    f = f < -127.f ? -127.f : (f > 127.f ? 127.f : f);
    // x / scale is rounded: step until value(f) <= x < value(f + 1) holds exactly.
    while (f > -127.f && value(f) > x) f -= 1.f;
    while (f < 127.f && value(f + 1.f) <= x) f += 1.f;
    lo = value(f);
    // Below the grid (f == -127 and lo > x), on it, or beyond +127 steps: one candidate.
    hi = (lo >= x || f == 127.f) ? lo : value(f + 1.f);
}

void require_finite(const float* v, Shape2 s, const std::string& what) {
    const kern::Int8NonFinite bad = kern::int8_scan_non_finite_cpu(v, s.rows * s.cols);
    if (bad.count != 0)
        throw Error(CTQ_ERR_NON_FINITE, what + ": " + std::to_string(bad.count) +
                                            " non-finite value(s), first at [" +
                                            std::to_string(bad.first / s.cols) + ", " +
                                            std::to_string(bad.first % s.cols) + "]");
}

template <class Fn>
void for_each_element(const Int8Plan& pl, Fn&& fn) {
    const kern::Int8Tiling& t = pl.tiling;
    for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t c = 0; c < t.cols; ++c) fn(r * t.cols + c, t.tile_of(r, c));
}

}  // namespace

void Int8Layout::bracket(const ctq_tensor_view& x, const ctq_tensor_view* outs, int n,
                         const ctq_layout_params& p, ctq_tensor_view& lo,
                         ctq_tensor_view& hi) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    check_outs(s, p, outs, n, "bracket");
    const std::string what = std::string(t_.name) + ": bracket ";
    require_cpu_f32(x, s, what + "target");
    require_cpu_f32(lo, s, what + "lo");
    require_cpu_f32(hi, s, what + "hi");
    const float* xs = static_cast<const float*>(x.data);
    require_finite(xs, s, what + "target");
    const float* scales = static_cast<const float*>(outs[1].data);
    float* l = static_cast<float*>(lo.data);
    float* h = static_cast<float*>(hi.data);
    for_each_element(pl, [&](int64_t i, int64_t tile) { bracket_one(xs[i], scales[tile], l[i], h[i]); });
}

void Int8Layout::encode_values(const ctq_tensor_view& v, ctq_tensor_view* outs, int n,
                               const ctq_layout_params& p) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    check_outs(s, p, outs, n, "encode_values");
    require_cpu_f32(v, s, std::string(t_.name) + ": encode_values input");
    const float* vs = static_cast<const float*>(v.data);
    require_finite(vs, s, std::string(t_.name) + ": encode_values input");
    const float* scales = static_cast<const float*>(outs[1].data);
    int8_t* q = static_cast<int8_t*>(outs[0].data);
    for_each_element(pl, [&](int64_t i, int64_t tile) {
        q[i] = static_cast<int8_t>(
            kern::int8_rne(kern::int8_clamp127(kern::int8_div_rn(vs[i], scales[tile]))));
    });
}

void Int8Layout::expand_scale(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                              ctq_tensor_view& scale_out) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    check_outs(s, p, outs, n, "expand_scale");
    require_cpu_f32(scale_out, s, std::string(t_.name) + ": expand_scale output");
    const float* scales = static_cast<const float*>(outs[1].data);
    float* dst = static_cast<float*>(scale_out.data);
    for_each_element(pl, [&](int64_t i, int64_t tile) { dst[i] = scales[tile]; });
}

}  // namespace ctq::int8
