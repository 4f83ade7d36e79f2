// Specs, .comfy_quant JSON, round-to-nearest quantize and dequantize of the INT8 layouts.
#include "int8_layout.hpp"

#include <ctq/kernels/hadamard.hpp>

#include <string>
#include <vector>

namespace ctq::int8 {

using kern::Int8Mode;

namespace {

constexpr int64_t kDefaultConvrotGroup = 256;  // ComfyUI's convrot_groupsize default

const char* mode_name(int32_t mode) {
    switch (mode) {
        case CTQ_SCALING_TENSOR: return "tensor";
        case CTQ_SCALING_ROW: return "row";
        case CTQ_SCALING_BLOCK: return "block";
    }
    return "unknown";
}

}  // namespace

void Int8Layout::fail(ctq_status status, const std::string& what) const {
    throw Error(status, std::string(t_.name) + ": " + what);
}

Int8Plan Int8Layout::plan(Shape2 s, const ctq_layout_params& p) const {
    if (s.rows < 1 || s.cols < 1)
        fail(CTQ_ERR_INVALID_ARGUMENT, "weight shape [" + std::to_string(s.rows) + ", " +
                                           std::to_string(s.cols) + "] is empty");
    const char* mode = mode_name(p.scaling_mode);
    if (std::string(mode) == "unknown" || std::string(t_.scaling_modes).find(mode) == std::string::npos)
        fail(CTQ_ERR_INVALID_ARGUMENT, std::string("scaling mode '") + mode +
                                           "' not supported (supported: " + t_.scaling_modes + ")");
    Int8Plan plan{static_cast<Int8Mode>(p.scaling_mode), 0, 0, {}};
    if (plan.mode == Int8Mode::Block) {
        plan.block = p.block_size > 0 ? p.block_size : t_.default_block;
        if (p.block_size < 0) fail(CTQ_ERR_INVALID_ARGUMENT, "block_size must be positive");
    }
    if (p.convrot) {
        if (!t_.allows_convrot || plan.mode != Int8Mode::Row)
            fail(CTQ_ERR_INVALID_ARGUMENT, "ConvRot needs int8_tensorwise with row scaling");
        plan.convrot_group = p.convrot_group_size > 0 ? p.convrot_group_size : kDefaultConvrotGroup;
        if (!kern::is_power_of_4(plan.convrot_group) || plan.convrot_group < 4 ||
            s.cols % plan.convrot_group != 0)
            fail(CTQ_ERR_INVALID_ARGUMENT,
                 "ConvRot group " + std::to_string(plan.convrot_group) +
                     " must be a power of 4 (>= 4) dividing in_features " + std::to_string(s.cols));
    }
    plan.tiling = kern::int8_tiling(plan.mode, s.rows, s.cols, plan.block);
    return plan;
}

std::vector<ctq_tensor_spec> Int8Layout::output_specs(Shape2 s, const ctq_layout_params& p) const {
    const Int8Plan pl = plan(s, p);
    std::vector<ctq_tensor_spec> specs{make_spec(".weight", CTQ_DTYPE_I8, {s.rows, s.cols})};
    switch (pl.mode) {
        case Int8Mode::Tensor: specs.push_back(make_spec(".weight_scale", CTQ_DTYPE_F32, {})); break;
        case Int8Mode::Row: specs.push_back(make_spec(".weight_scale", CTQ_DTYPE_F32, {s.rows, 1})); break;
        case Int8Mode::Block:
            specs.push_back(make_spec(".weight_scale", CTQ_DTYPE_F32,
                                      {pl.tiling.grid_rows(), pl.tiling.grid_cols()}));
            break;
    }
    if (t_.writes_input_scale) specs.push_back(make_spec(".input_scale", CTQ_DTYPE_F32, {}));
    return specs;
}

// Key order and spacing of the reference's json.dumps: format, group_size?,
// full_precision_matrix_mult?, convrot + convrot_groupsize?, per_row?.
std::string Int8Layout::comfy_quant_json(const ctq_layout_params& p) const {
    std::string j = std::string("{\"format\": \"") + t_.name + "\"";
    if (t_.writes_group_size)
        j += ", \"group_size\": " + std::to_string(p.block_size > 0 ? p.block_size : t_.default_block);
    if (p.full_precision_mm) j += ", \"full_precision_matrix_mult\": true";
    if (p.convrot)
        j += ", \"convrot\": true, \"convrot_groupsize\": " +
             std::to_string(p.convrot_group_size > 0 ? p.convrot_group_size : kDefaultConvrotGroup);
    if (p.scaling_mode == CTQ_SCALING_ROW) j += ", \"per_row\": true";
    return j + "}";
}

Shape2 codes_shape(const ctq_tensor_view* outs, int n) {
    if (n < 1 || outs[0].ndim != 2)
        throw Error(CTQ_ERR_INVALID_ARGUMENT, "quantized layer needs 2-D codes as output 0");
    return {outs[0].shape[0], outs[0].shape[1]};
}

void require_cuda_build(const char* layout) {
#if defined(CTQ_HAVE_CUDA)
    (void)layout;
#else
    throw Error(CTQ_ERR_UNSUPPORTED, std::string(layout) + ": this plugin was built without CUDA");
#endif
}

void Int8Layout::check_outs(Shape2 s, const ctq_layout_params& p, const ctq_tensor_view* outs,
                            int n, const char* op, bool cuda) const {
    const auto specs = output_specs(s, p);
    if (n != static_cast<int>(specs.size()))
        fail(CTQ_ERR_INVALID_ARGUMENT, std::string(op) + ": expected " + std::to_string(specs.size()) +
                                           " outputs, got " + std::to_string(n));
    for (int i = 0; i < n; ++i) {
        const ctq_tensor_spec& sp = specs[i];
        bool ok = outs[i].dtype == sp.dtype && outs[i].ndim == sp.ndim && is_contiguous(outs[i]) &&
                  on_cuda(outs[i]) == cuda && outs[i].data != nullptr;
        for (int d = 0; ok && d < sp.ndim; ++d) ok = outs[i].shape[d] == sp.shape[d];
        if (!ok)
            fail(on_cuda(outs[i]) && !cuda ? CTQ_ERR_UNSUPPORTED : CTQ_ERR_INVALID_ARGUMENT,
                 std::string(op) + ": output " + sp.suffix + " must be a contiguous " +
                     (cuda ? "CUDA" : "CPU") + " view matching its spec");
    }
}

void Int8Layout::quantize(const ctq_tensor_view& w, const ctq_layout_params& p,
                          ctq_tensor_view* outs, int n) const {
    const bool cuda = on_cuda(w);
    const auto dtype = static_cast<ctq_dtype>(w.dtype);
    if (cuda || (dtype != CTQ_DTYPE_BF16 && dtype != CTQ_DTYPE_F16)) require_weight(w);  // else the stored 16-bit
    else if (w.ndim != 2 || !is_contiguous(w)) fail(CTQ_ERR_INVALID_ARGUMENT, "weight must be a contiguous 2-D view");
    if (cuda) require_cuda_build(t_.name);
    const Shape2 s{w.shape[0], w.shape[1]};
    const Int8Plan pl = plan(s, p);
    check_outs(s, p, outs, n, "quantize", cuda);
    auto* q = static_cast<int8_t*>(outs[0].data);
    auto* stored = static_cast<float*>(outs[1].data);
    kern::Int8NonFinite bad;
    if (!cuda) {
        bad = pl.convrot_group
                  ? kern::int8_quantize_rotated_cpu(pl.mode, w.data, dtype, pl.tiling, pl.convrot_group, q, stored)
                  : kern::int8_quantize_cpu(pl.mode, w.data, dtype, pl.tiling, q, stored);
        if (t_.writes_input_scale && bad.count == 0) *static_cast<float*>(outs[2].data) = 1.0f;
    } else {
#if defined(CTQ_HAVE_CUDA)
        if (pl.convrot_group > 16384)  // one group must fit the rotation kernel's shared memory
            fail(CTQ_ERR_UNSUPPORTED, "ConvRot groups above 16384 rotate on the CPU only");
        void* stream = w.device.stream;
        const float* src = static_cast<const float*>(w.data);
        bad = pl.convrot_group
                  ? kern::int8_quantize_rotated_cuda(pl.mode, src, pl.tiling, pl.convrot_group, q, stored, stream)
                  : kern::int8_quantize_cuda(pl.mode, src, pl.tiling, q, stored, stream);
        if (t_.writes_input_scale && bad.count == 0)
            kern::int8_fill_cuda(static_cast<float*>(outs[2].data), 1, 1.0f, stream);
#endif
    }
    if (bad.count != 0)
        fail(CTQ_ERR_NON_FINITE, std::to_string(bad.count) + " non-finite value(s) (NaN/Inf)" +
                                     (pl.convrot_group ? " in the weight or from overflow in the ConvRot rotation" : "") +
                                     ", first at [" + std::to_string(bad.first / s.cols) + ", " +
                                     std::to_string(bad.first % s.cols) + "]");
}

void Int8Layout::dequantize(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                            ctq_tensor_view& w_out) const {
    const Shape2 s = codes_shape(outs, n);
    const Int8Plan pl = plan(s, p);
    const bool cuda = on_cuda(w_out);
    if (cuda) require_cuda_build(t_.name);
    check_outs(s, p, outs, n, "dequantize", cuda);
    require_weight(w_out, "dequantize output");
    if (w_out.shape[0] != s.rows || w_out.shape[1] != s.cols)
        fail(CTQ_ERR_INVALID_ARGUMENT, "dequantize output shape differs from the codes");
    auto* dst = static_cast<float*>(w_out.data);
    const auto* q = static_cast<const int8_t*>(outs[0].data);
    const auto* stored = static_cast<const float*>(outs[1].data);
    // ConvRot: back to the original domain afterwards (the rotation is its own inverse).
    if (!cuda) {
        kern::int8_decode_cpu(q, pl.tiling, stored, dst);
        if (pl.convrot_group) kern::hadamard_rotate_rows_cpu(dst, s.rows, s.cols, pl.convrot_group);
    } else {
#if defined(CTQ_HAVE_CUDA)
        if (pl.convrot_group > 16384)
            fail(CTQ_ERR_UNSUPPORTED, "ConvRot groups above 16384 rotate on the CPU only");
        kern::int8_decode_cuda(q, pl.tiling, stored, dst, w_out.device.stream);
        if (pl.convrot_group)
            kern::hadamard_rotate_rows_cuda(dst, s.rows, s.cols, pl.convrot_group, w_out.device.stream);
#endif
    }
}

}  // namespace ctq::int8
