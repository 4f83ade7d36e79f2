// Round-to-nearest on the GPU for layouts that accept CUDA views: the stored weight goes from
// the mapping through a pinned buffer to the device, is widened to F32 there, quantized by the
// layout plugin on the device, and its outputs come back to host buffers. Device buffers are
// reused across layers (grown to the largest), so a model costs a few allocations in all.
#pragma once

#include "io/tensor_info.hpp"
#include "quant/layout_ops.hpp"

#include <memory>

namespace ctq {

class GpuQuantizer {
public:
    // Throws CtqError when CUDA is not compiled in or the device cannot be used.
    explicit GpuQuantizer(int device_index);
    ~GpuQuantizer();
    GpuQuantizer(const GpuQuantizer&) = delete;
    GpuQuantizer& operator=(const GpuQuantizer&) = delete;

    // False when the layout has no CUDA path (the caller then quantizes on the CPU).
    bool quantize(const LayoutOps& ops, const TensorInfo& info, const uint8_t* stored, QuantizedLayer& q);

    static bool available();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ctq
