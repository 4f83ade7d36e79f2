// Turns the per-tensor plans into the exact list of output tensors (names, dtypes, shapes) in
// write order, before any data is computed, so the header can be written first and the data
// streamed after it.
#pragma once

#include "io/safetensors_writer.hpp"
#include "io/tensor_info.hpp"
#include "plan/layer_plan.hpp"
#include "quant/layout_ops.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ctq {

struct PlannedTensor {
    const TensorInfo* input = nullptr;
    LayerPlan plan;
    std::unique_ptr<LayoutOps> ops;   // quantized tensors only
    std::vector<ctq_tensor_spec> specs;
    std::string comfy_quant;          // exact .comfy_quant bytes
    bool host_input_scale = false;    // the host writes <base>.input_scale (layout does not)
    const TensorInfo* corrected_bias = nullptr;  // written right after this layer (--bias_correction)
    bool bias_handled_by_layer = false;          // this tensor is a bias written by its layer
};

// Builds the planned tensors (in input data order) and the output list in write order.
std::vector<PlannedTensor> plan_outputs(const std::vector<TensorInfo>& inputs,
                                        std::vector<LayerPlan> plans, bool bias_correction);
std::vector<OutputTensor> output_tensors(const std::vector<PlannedTensor>& planned);

// The `_quantization_metadata` header value (REFERENCE 4.1), layers sorted by name.
std::string quantization_metadata(const std::vector<PlannedTensor>& planned);

}  // namespace ctq
