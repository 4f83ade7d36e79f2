// The layout's grid operations on torch tensors of the working device (engine-internal).
//
// On a CUDA device the quantized layer's outputs go to the GPU once and the plugin's kernels run
// on CUDA views of torch's tensors, in order with torch's work (its current stream), so the
// weight's RTN values, its grid neighbours and the judged values never cross the bus; only the
// chosen codes come back. A layout without CUDA grid operations (no CTQ_LAYOUT_SUPPORTS_CUDA,
// or CTQ_ERR_UNSUPPORTED from a call) is served from host copies instead, as on the CPU.
#pragma once

#include "quant/layout_ops.hpp"

#include <torch/torch.h>

#include <utility>
#include <vector>

namespace ctq::engine {

class DeviceGrid {
public:
    // q: the RTN layer (host buffers); it must outlive this object.
    DeviceGrid(const LayoutOps& ops, const QuantizedLayer& q, torch::Device device);

    // True when the plugin's kernels work on the device's tensors directly.
    bool on_device() const { return on_device_; }

    // Every function returns F32 [M, N] tensors on the device.
    torch::Tensor dequantize();                                        // dequant(RTN codes)
    std::pair<torch::Tensor, torch::Tensor> bracket(const torch::Tensor& x);  // lo, hi of x
    torch::Tensor expand_scale();
    // Encodes grid values v into a trial copy of the layer and returns what that copy decodes
    // to (the values that would be written).
    torch::Tensor encode_trial(const torch::Tensor& v);
    // Moves the trial's codes into q (after encode_trial).
    void commit_trial(QuantizedLayer& q);

private:
    const LayoutOps& ops_;
    const QuantizedLayer& q_;
    torch::Device device_;
    bool on_device_ = false;
    void* stream_ = nullptr;
    std::vector<torch::Tensor> outs_;  // device path: the layer's outputs, bytes on the device
    torch::Tensor trial_codes_;        // device path: codes of the last encode_trial
    QuantizedLayer trial_;             // host path: the last encode_trial's layer

    std::vector<ctq_tensor_view> out_views(const torch::Tensor* codes) const;
    ctq_tensor_view f32_view(const torch::Tensor& t) const;
    torch::Tensor empty_f32() const;
    torch::Tensor to_device(const std::vector<float>& v) const;
    void check(const char* op, int32_t status, const ctq_error& err) const;
    bool try_device(const char* op, int32_t status, const ctq_error& err);
};

}  // namespace ctq::engine
