// Round-to-nearest on the GPU for layouts that accept CUDA views. The stored weights of the
// planned GPU layers are read ahead into pinned staging memory (StagingRing, so reading layer
// i+1 overlaps the device work on layer i), copied to the device, widened to F32 there and
// quantized by the layout plugin; the outputs come back through pinned memory into the layer's
// buffers (the writer's reused ones: no fresh page faults per layer). While the CUDA context is
// still being created (cuda_startup.hpp) and the buffers made, on a thread of their own, layers
// are quantized on the CPU instead: same bits, no idle wait. Device and pinned buffers are sized
// once for the largest layer and reused.
#pragma once

#include "io/safetensors_reader.hpp"
#include "io/tensor_info.hpp"
#include "pipeline/output_plan.hpp"
#include "quant/layout_ops.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ctq {

class GpuQuantizer {
public:
    // Starts the device's initialisation if the CLI has not already; its errors surface when
    // the GPU is first needed. Throws CtqError when CUDA is not compiled in.
    GpuQuantizer(int device_index, const SafetensorsReader& reader);
    ~GpuQuantizer();
    GpuQuantizer(const GpuQuantizer&) = delete;
    GpuQuantizer& operator=(const GpuQuantizer&) = delete;

    // The planned tensors in processing order (once): starts making the device's buffers for
    // the GPU layers among them, which are read ahead; the last one waits for a device still
    // starting (so its errors always surface). Without this call every GPU layer waits.
    void expect(const std::vector<PlannedTensor>& planned);

    // False when the layer stays on the CPU (the layout has no CUDA path, or the device is still
    // starting). q's buffers may be reused ones: all their bytes are written.
    bool quantize(const LayoutOps& ops, const TensorInfo& info, QuantizedLayer& q);

    // One line for the run's time summary; empty when no layer was rounded here (all learned).
    std::string summary() const;

    static bool available();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ctq
