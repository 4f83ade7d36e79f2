// Learned-rounding grid operations of the INT8 layouts. The grid of an element is
// {code * stored_scale : code in [-127, 127]} with the scale of its tile; values are formed
// exactly as dequantize forms them (one float multiply). The element maths is shared with the
// CUDA kernels (ctq/kernels/grid.hpp), which run when the views are CUDA views. For ConvRot
// layers the grid lives in the rotated domain: the caller works on W_rot = W · blockdiag(H)^T
// (hadamard_rotate_rows_cpu).
#include "int8_layout.hpp"

#include <ctq/kernels/grid.hpp>
#include <ctq/kernels/parallel.hpp>

#include <string>

namespace ctq::int8 {

namespace {

// A contiguous F32 view of `shape` on the CPU, or on CUDA when the plugin has CUDA.
bool require_f32(const ctq_tensor_view& v, Shape2 s, const char* layout, const std::string& what) {
    const bool cuda = on_cuda(v);
    if (cuda) require_cuda_build(layout);
    if (v.dtype != CTQ_DTYPE_F32 || v.ndim != 2 || v.shape[0] != s.rows || v.shape[1] != s.cols ||
        !is_contiguous(v))
        throw Error(CTQ_ERR_INVALID_ARGUMENT, what + " must be a contiguous F32 view of [" +
                                                  std::to_string(s.rows) + ", " + std::to_string(s.cols) + "]");
    return cuda;
}

void require_finite(const float* v, Shape2 s, bool cuda, void* stream, const std::string& what) {
    kern::Int8NonFinite bad{};
    if (cuda) {
#if defined(CTQ_HAVE_CUDA)
        bad = kern::int8_scan_non_finite_cuda(v, s.rows * s.cols, stream);
#endif
    } else {
        (void)stream;
        bad = kern::int8_scan_non_finite_cpu(v, s.rows * s.cols);
    }
    if (bad.count != 0)
        throw Error(CTQ_ERR_NON_FINITE, what + ": " + std::to_string(bad.count) +
                                            " non-finite value(s), first at [" +
                                            std::to_string(bad.first / s.cols) + ", " +
                                            std::to_string(bad.first % s.cols) + "]");
}

// Runs fn(index, tile) for every element, rows split between threads.
template <class Fn>
void for_each_element(const Int8Plan& pl, Fn&& fn) {
    const kern::Int8Tiling& t = pl.tiling;
    kern::parallel_for(t.rows, t.cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = 0; c < t.cols; ++c) fn(r * t.cols + c, t.tile_of(r, c));
    });
}

}  // namespace

void Int8Layout::bracket(const ctq_tensor_view& x, const ctq_tensor_view* outs, int n,
                         const ctq_layout_params& p, ctq_tensor_view& lo,
                         ctq_tensor_view& hi) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    const std::string what = std::string(t_.name) + ": bracket ";
    const bool cuda = require_f32(x, s, t_.name, what + "target");
    if (require_f32(lo, s, t_.name, what + "lo") != cuda || require_f32(hi, s, t_.name, what + "hi") != cuda)
        fail(CTQ_ERR_INVALID_ARGUMENT, "bracket: target, lo and hi must be on one device");
    check_outs(s, p, outs, n, "bracket", cuda);
    const float* xs = static_cast<const float*>(x.data);
    require_finite(xs, s, cuda, x.device.stream, what + "target");
    const float* scales = static_cast<const float*>(outs[1].data);
    float* l = static_cast<float*>(lo.data);
    float* h = static_cast<float*>(hi.data);
    if (cuda) {
#if defined(CTQ_HAVE_CUDA)
        kern::int8_bracket_cuda(xs, pl.tiling, scales, l, h, x.device.stream);
#endif
        return;
    }
    for_each_element(pl, [&](int64_t i, int64_t tile) { kern::int8_bracket_element(xs[i], scales[tile], l[i], h[i]); });
}

void Int8Layout::encode_values(const ctq_tensor_view& v, ctq_tensor_view* outs, int n,
                               const ctq_layout_params& p) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    const std::string what = std::string(t_.name) + ": encode_values input";
    const bool cuda = require_f32(v, s, t_.name, what);
    check_outs(s, p, outs, n, "encode_values", cuda);
    const float* vs = static_cast<const float*>(v.data);
    require_finite(vs, s, cuda, v.device.stream, what);
    const float* scales = static_cast<const float*>(outs[1].data);
    int8_t* q = static_cast<int8_t*>(outs[0].data);
    if (cuda) {
#if defined(CTQ_HAVE_CUDA)
        kern::int8_encode_values_cuda(vs, pl.tiling, scales, q, v.device.stream);
#endif
        return;
    }
    for_each_element(pl, [&](int64_t i, int64_t tile) { q[i] = kern::int8_encode_value_element(vs[i], scales[tile]); });
}

void Int8Layout::expand_scale(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                              ctq_tensor_view& scale_out) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    const bool cuda = require_f32(scale_out, s, t_.name, std::string(t_.name) + ": expand_scale output");
    check_outs(s, p, outs, n, "expand_scale", cuda);
    const float* scales = static_cast<const float*>(outs[1].data);
    float* dst = static_cast<float*>(scale_out.data);
    if (cuda) {
#if defined(CTQ_HAVE_CUDA)
        kern::int8_expand_scale_cuda(pl.tiling, scales, dst, scale_out.device.stream);
#endif
        return;
    }
    for_each_element(pl, [&](int64_t i, int64_t tile) { dst[i] = scales[tile]; });
}

}  // namespace ctq::int8
