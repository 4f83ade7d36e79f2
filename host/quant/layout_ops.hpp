// The host's checked, C++ face of a layout plugin: owns the output buffers of a quantized layer
// and turns every non-OK status into a CtqError naming the layer and the layout.
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ctq {

// The output tensors of one quantized layer, in the layout's spec order (0 = codes), on the CPU.
struct QuantizedLayer {
    int64_t rows = 0, cols = 0;
    std::vector<ctq_tensor_spec> specs;
    std::vector<std::vector<uint8_t>> buffers;

    std::vector<ctq_tensor_view> views();
    std::vector<ctq_tensor_view> views() const;  // same views; callee must not write
};

class LayoutOps {
public:
    LayoutOps(const ctq_layout_desc& desc, const ctq_layout_params& params, std::string layer);

    const ctq_layout_desc& desc() const { return *desc_; }
    const ctq_layout_params& params() const { return params_; }
    const std::string& layer() const { return layer_; }  // the tensor name errors carry
    bool supports_learned() const { return desc_->flags & CTQ_LAYOUT_SUPPORTS_LEARNED; }

    std::vector<ctq_tensor_spec> specs(int64_t rows, int64_t cols) const;
    std::string comfy_quant_json() const;
    QuantizedLayer allocate(int64_t rows, int64_t cols) const;
    // The same with each output's n bytes from buffer(n), contents unspecified (the writer's
    // reused buffers: a fresh multi-MB allocation per layer costs page faults and zero-filling).
    QuantizedLayer allocate(int64_t rows, int64_t cols,
                            const std::function<std::vector<uint8_t>(size_t)>& buffer) const;

    // w: F32 [rows, cols] contiguous on the CPU.
    void quantize(const float* w, QuantizedLayer& q) const;
    // Whether quantize_stored() takes this weight as stored: F32 always, BF16 and F16 when the
    // layout sets CTQ_LAYOUT_ACCEPTS_16BIT_INPUT; w aligned to its element (a safetensors
    // file need not align its tensors).
    bool accepts_stored(const void* w, ctq_dtype dtype) const;
    // w: [rows, cols] contiguous on the CPU, one accepts_stored() allows. False when the layout
    // refuses the weight for NaN/Inf (the caller names them); other failures throw.
    bool quantize_stored(const void* w, ctq_dtype dtype, QuantizedLayer& q) const;
    // Any device: false when the layout answers CTQ_ERR_UNSUPPORTED (e.g. no CUDA in it).
    bool try_quantize(const ctq_tensor_view& w, std::vector<ctq_tensor_view>& outs) const;
    void dequantize(const QuantizedLayer& q, float* w_out) const;
    void bracket(const float* x, const QuantizedLayer& q, float* lo, float* hi) const;
    void encode_values(const float* v, QuantizedLayer& q) const;
    void expand_scale(const QuantizedLayer& q, float* scale_out) const;

private:
    const ctq_layout_desc* desc_;
    ctq_layout_params params_;
    std::string layer_;
    [[noreturn]] void raise(const char* op, int32_t status, const ctq_error& err) const;
    void check(const char* op, int32_t status, const ctq_error& err) const {
        if (status != CTQ_OK) raise(op, status, err);
    }
};

// A contiguous CPU view over host memory.
ctq_tensor_view cpu_view(const void* data, ctq_dtype dtype, const std::vector<int64_t>& shape);

}  // namespace ctq
