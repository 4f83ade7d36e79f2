// Checking and unpacking the views handed to an FP8 layout: a quantized layer is two
// contiguous views, codes [M, N] in the storage dtype and F32 scales (one per tile), on the
// same device as the weight.
#pragma once

#include <ctq/dtype.hpp>
#include <ctq/kernels/fp8.hpp>
#include <ctq/plugin.hpp>

#include <cstdint>
#include <string>

namespace ctq::fp8 {

struct LayerViews {
    uint8_t* codes;
    float* scale;
};

inline float* f32(const ctq_tensor_view& v) { return static_cast<float*>(v.data); }

inline std::string position(int64_t index, int64_t cols) {
    return "[" + std::to_string(index / cols) + ", " + std::to_string(index % cols) + "]";
}

inline LayerViews layer_views(const char* layout, ctq_dtype storage, const kern::Fp8Tiling& t,
                              const ctq_tensor_view* outs, int n, const ctq_device& device) {
    auto fail = [&](const std::string& why) -> void {
        throw Error(CTQ_ERR_INVALID_ARGUMENT, std::string(layout) + ": " + why);
    };
    if (n != 2) fail("expects 2 output views (codes, scale), got " + std::to_string(n));
    const ctq_tensor_view& codes = outs[0];
    const ctq_tensor_view& scale = outs[1];
    if (codes.dtype != storage || numel(codes) != t.rows * t.cols || !is_contiguous(codes))
        fail(std::string("codes must be a contiguous ") + dtype_name(storage) + " view of " +
             std::to_string(t.rows) + "x" + std::to_string(t.cols) + " elements");
    if (scale.dtype != CTQ_DTYPE_F32 || numel(scale) != t.tile_count() || !is_contiguous(scale))
        fail("scale must be a contiguous F32 view of " + std::to_string(t.tile_count()) + " elements");
    for (const ctq_tensor_view* v : {&codes, &scale})
        if (v->device.kind != device.kind || v->device.index != device.index)
            fail("codes, scale and weight views must be on one device");
    return {static_cast<uint8_t*>(codes.data), f32(scale)};
}

// The weight quantize() reads: an F32 view anywhere, or the stored BF16/F16 on the CPU
// (CTQ_LAYOUT_ACCEPTS_16BIT_INPUT).
inline void require_quantize_input(const ctq_tensor_view& w) {
    const bool stored_half = (w.dtype == CTQ_DTYPE_BF16 || w.dtype == CTQ_DTYPE_F16) && !on_cuda(w);
    if (!stored_half) return require_weight(w);
    if (w.ndim != 2 || !is_contiguous(w))
        throw Error(CTQ_ERR_INVALID_ARGUMENT, "weight must be a contiguous 2-D view");
}

inline void require_same_shape(const ctq_tensor_view& v, const ctq_tensor_view& like, const char* what) {
    require_weight(v, what);
    if (v.shape[0] != like.shape[0] || v.shape[1] != like.shape[1] || v.device.kind != like.device.kind)
        throw Error(CTQ_ERR_INVALID_ARGUMENT, std::string(what) + " differs in shape or device");
}

inline void require_cuda(const char* layout) {
#ifndef CTQ_HAVE_CUDA
    throw Error(CTQ_ERR_UNSUPPORTED, std::string(layout) + ": this plugin was built without CUDA");
#else
    (void)layout;
#endif
}

[[noreturn]] inline void throw_non_finite(const char* layout, const kern::Fp8NonFinite& bad, int64_t cols) {
    throw Error(CTQ_ERR_NON_FINITE, std::string(layout) + ": the weight holds " + std::to_string(bad.count) +
                                        " non-finite value(s) (NaN or Inf), the first at " +
                                        position(bad.first, cols));
}

}  // namespace ctq::fp8
