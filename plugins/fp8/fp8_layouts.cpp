// The FP8 layouts: float8_e4m3fn (per tensor), _rowwise, _blockwise and float8_e5m2. One traits
// row per layout; the numbers come from the shared kernels (ctq/kernels/fp8.hpp), so the CPU and
// CUDA paths give the reference's bits (../shared/golden/README.md).
#include "fp8_views.hpp"

#include <ctq/kernels/fp8.hpp>
#include <ctq/kernels/grid.hpp>
#include <ctq/plugin.hpp>

#include <string>
#include <vector>

namespace ctq::fp8 {
namespace {

using kern::Fp8Format;
using kern::Fp8ScaleRule;
using kern::Fp8Tiling;

struct Fp8LayoutTraits {
    const char* name;  // also the .comfy_quant "format"
    const char* description;
    const char* family;
    const char* scaling_modes;
    ctq_scaling_mode mode;
    Fp8Format format;
    ctq_dtype storage;
    Fp8ScaleRule rule;   // PyTorch computes max / amax as reciprocal(amax) * max in every mode
    int scale_ndim;      // .weight_scale: 0-d, [tiles_down] or [tiles_down, tiles_across]
    bool group_size;     // .comfy_quant carries "group_size"
    uint32_t flags;
};

#ifdef CTQ_HAVE_CUDA
constexpr uint32_t kDeviceFlags =
    CTQ_LAYOUT_SUPPORTS_CUDA | CTQ_LAYOUT_SUPPORTS_LEARNED | CTQ_LAYOUT_ACCEPTS_16BIT_INPUT;
#else
constexpr uint32_t kDeviceFlags = CTQ_LAYOUT_SUPPORTS_LEARNED | CTQ_LAYOUT_ACCEPTS_16BIT_INPUT;
#endif

constexpr Fp8LayoutTraits kFp8Layouts[] = {
    {"float8_e4m3fn", "FP8 e4m3fn, one scale per tensor (stock ComfyUI)", "fp8", "tensor",
     CTQ_SCALING_TENSOR, Fp8Format::e4m3fn, CTQ_DTYPE_F8_E4M3, Fp8ScaleRule::reciprocal_multiply, 0, false,
     CTQ_LAYOUT_COMFY_NATIVE | CTQ_LAYOUT_MATMUL_NEEDS_16 | kDeviceFlags},
    {"float8_e4m3fn_rowwise", "FP8 e4m3fn, one scale per output row (custom node)", "fp8", "row",
     CTQ_SCALING_ROW, Fp8Format::e4m3fn, CTQ_DTYPE_F8_E4M3, Fp8ScaleRule::reciprocal_multiply, 1,
     false, kDeviceFlags},
    {"float8_e4m3fn_blockwise", "FP8 e4m3fn, one scale per block_size^2 tile (custom node)", "fp8",
     "block", CTQ_SCALING_BLOCK, Fp8Format::e4m3fn, CTQ_DTYPE_F8_E4M3,
     Fp8ScaleRule::reciprocal_multiply, 2, true, kDeviceFlags},
    {"float8_e5m2", "FP8 e5m2, one scale per tensor, full-precision matmul (stock ComfyUI)",
     "fp8_e5m2", "tensor", CTQ_SCALING_TENSOR, Fp8Format::e5m2, CTQ_DTYPE_F8_E5M2,
     Fp8ScaleRule::reciprocal_multiply, 0, false, CTQ_LAYOUT_COMFY_NATIVE | CTQ_LAYOUT_NEEDS_FPMM | kDeviceFlags},
};

constexpr int64_t kDefaultBlockSize = 128;

class Fp8Layout : public Layout {
public:
    explicit Fp8Layout(const Fp8LayoutTraits& traits) : t_(traits) {}

    const char* name() const override { return t_.name; }
    const char* description() const override { return t_.description; }
    const char* family() const override { return t_.family; }
    const char* scaling_modes() const override { return t_.scaling_modes; }
    ctq_dtype storage_dtype() const override { return t_.storage; }
    uint32_t flags() const override { return t_.flags; }

    std::vector<ctq_tensor_spec> output_specs(Shape2 s, const ctq_layout_params& p) const override {
        const Fp8Tiling tiling = tiling_for(s.rows, s.cols, p);
        ctq_tensor_spec scale = make_spec(".weight_scale", CTQ_DTYPE_F32, {});
        const int64_t dims[2] = {tiling.tiles_down(), tiling.tiles_across()};
        scale.ndim = t_.scale_ndim;
        for (int i = 0; i < t_.scale_ndim; ++i) scale.shape[i] = dims[i];
        return {make_spec(".weight", t_.storage, {s.rows, s.cols}), scale};
    }

    // Byte for byte what Python's json.dumps writes for the reference's dict.
    std::string comfy_quant_json(const ctq_layout_params& p) const override {
        std::string json = std::string("{\"format\": \"") + t_.name + "\"";
        if (t_.group_size) json += ", \"group_size\": " + std::to_string(block_edge(p));
        if (p.full_precision_mm || (t_.flags & CTQ_LAYOUT_NEEDS_FPMM))
            json += ", \"full_precision_matrix_mult\": true";
        return json + "}";
    }

    void quantize(const ctq_tensor_view& w, const ctq_layout_params& p, ctq_tensor_view* outs,
                  int n) const override {
        require_quantize_input(w);
        const Fp8Tiling tiling = tiling_for(w.shape[0], w.shape[1], p);
        const LayerViews v = layer_views(t_.name, t_.storage, tiling, outs, n, w.device);
        kern::Fp8NonFinite bad;
        if (on_cuda(w)) {
            require_cuda(t_.name);
#ifdef CTQ_HAVE_CUDA
            bad = kern::fp8_quantize_cuda(f32(w), tiling, t_.format, t_.rule, v.codes, v.scale,
                                          w.device.stream);
#endif
        } else {
            bad = kern::fp8_quantize_cpu(w.data, static_cast<ctq_dtype>(w.dtype), tiling, t_.format, t_.rule,
                                         v.codes, v.scale);
        }
        if (bad.count > 0) throw_non_finite(t_.name, bad, tiling.cols);
    }

    void dequantize(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                    ctq_tensor_view& w_out) const override {
        require_weight(w_out, "dequantized output");
        const Fp8Tiling tiling = tiling_for(w_out.shape[0], w_out.shape[1], p);
        const LayerViews v = layer_views(t_.name, t_.storage, tiling, outs, n, w_out.device);
        if (on_cuda(w_out)) {
            require_cuda(t_.name);
#ifdef CTQ_HAVE_CUDA
            kern::fp8_decode_cuda(v.codes, tiling, v.scale, t_.format, f32(w_out), w_out.device.stream);
#endif
        } else {
            kern::fp8_decode_cpu(v.codes, tiling, v.scale, t_.format, f32(w_out));
        }
    }

    // Grid operations: on CUDA views when the plugin has CUDA (ctq/kernels/grid.hpp: same bits).
    void bracket(const ctq_tensor_view& x, const ctq_tensor_view* outs, int n,
                 const ctq_layout_params& p, ctq_tensor_view& lo, ctq_tensor_view& hi) const override {
        const Fp8Tiling tiling = grid_tiling(x, p, "bracket target");
        require_same_shape(lo, x, "bracket lo");
        require_same_shape(hi, x, "bracket hi");
        const LayerViews v = layer_views(t_.name, t_.storage, tiling, outs, n, x.device);
        if (on_cuda(x)) {
#ifdef CTQ_HAVE_CUDA
            kern::fp8_bracket_cuda(f32(x), tiling, v.scale, t_.format, f32(lo), f32(hi), x.device.stream);
#endif
        } else {
            kern::fp8_bracket_cpu(f32(x), tiling, v.scale, t_.format, f32(lo), f32(hi));
        }
    }

    void encode_values(const ctq_tensor_view& values, ctq_tensor_view* outs, int n,
                       const ctq_layout_params& p) const override {
        const Fp8Tiling tiling = grid_tiling(values, p, "grid values");
        const LayerViews v = layer_views(t_.name, t_.storage, tiling, outs, n, values.device);
        int64_t bad = -1;
        if (on_cuda(values)) {
#ifdef CTQ_HAVE_CUDA
            bad = kern::fp8_encode_values_cuda(f32(values), tiling, v.scale, t_.format, v.codes,
                                               values.device.stream);
#endif
        } else {
            bad = kern::fp8_encode_values_cpu(f32(values), tiling, v.scale, t_.format, v.codes);
        }
        if (bad >= 0)
            throw Error(CTQ_ERR_INVALID_ARGUMENT, std::string(t_.name) + ": the value at " +
                                                      position(bad, tiling.cols) +
                                                      " is not on the FP8 grid of its scale");
    }

    void expand_scale(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                      ctq_tensor_view& scale_out) const override {
        const Fp8Tiling tiling = grid_tiling(scale_out, p, "expanded scale");
        const LayerViews v = layer_views(t_.name, t_.storage, tiling, outs, n, scale_out.device);
        if (on_cuda(scale_out)) {
#ifdef CTQ_HAVE_CUDA
            kern::fp8_expand_scale_cuda(tiling, v.scale, f32(scale_out), scale_out.device.stream);
#endif
        } else {
            kern::fp8_expand_scale_cpu(tiling, v.scale, f32(scale_out));
        }
    }

private:
    const Fp8LayoutTraits& t_;

    static int64_t block_edge(const ctq_layout_params& p) {
        return p.block_size > 0 ? p.block_size : kDefaultBlockSize;
    }

    Fp8Tiling tiling_for(int64_t rows, int64_t cols, const ctq_layout_params& p) const {
        if (rows <= 0 || cols <= 0)
            throw Error(CTQ_ERR_INVALID_ARGUMENT, std::string(t_.name) + ": empty weight shape [" +
                                                      std::to_string(rows) + ", " + std::to_string(cols) + "]");
        if (t_.mode == CTQ_SCALING_TENSOR) return Fp8Tiling::per_tensor(rows, cols);
        if (t_.mode == CTQ_SCALING_ROW) return Fp8Tiling::per_row(rows, cols);
        return Fp8Tiling::per_block(rows, cols, block_edge(p));
    }

    // A CUDA view needs a plugin built with CUDA (CTQ_ERR_UNSUPPORTED otherwise).
    Fp8Tiling grid_tiling(const ctq_tensor_view& x, const ctq_layout_params& p, const char* what) const {
        require_weight(x, what);
        if (on_cuda(x)) require_cuda(t_.name);
        return tiling_for(x.shape[0], x.shape[1], p);
    }
};

}  // namespace
}  // namespace ctq::fp8

CTQ_PLUGIN("fp8", "1.0", "FP8 e4m3fn (tensor, row, block) and e5m2 layouts") {
    static std::vector<ctq::fp8::Fp8Layout> layouts(std::begin(ctq::fp8::kFp8Layouts),
                                                    std::end(ctq::fp8::kFp8Layouts));
    for (auto& layout : layouts) reg.add(layout);
}
