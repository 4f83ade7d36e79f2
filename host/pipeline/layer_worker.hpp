// The work on one tensor: load it as F32, check it, quantize (round-to-nearest on the CPU or
// GPU, then learned rounding if planned), and queue its output tensors for the writer.
#pragma once

#include "cli/convert_options.hpp"
#include "io/safetensors_reader.hpp"
#include "pipeline/async_writer.hpp"
#include "pipeline/gpu_quantizer.hpp"
#include "pipeline/output_plan.hpp"
#include "report/layer_stats.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ctq {

class Registry;
struct LearnedStats;
class BiasCalibration;

struct LayerOutcome {
    std::optional<LayerStats> stats;  // when measured (--report or verbose)
    std::string note;                 // one line for the progress display
};

class LayerWorker {
public:
    LayerWorker(const ConvertOptions& options, const Registry& registry, const SafetensorsReader& reader,
                AsyncWriter& writer);
    ~LayerWorker();
    LayerOutcome process(const PlannedTensor& t);
    // The tensors process() will get, in order, so the GPU path can read ahead.
    void plan_ahead(const std::vector<PlannedTensor>& planned);
    std::string device_summary() const;  // a line for the time summary, empty on the CPU

private:
    const ConvertOptions& options_;
    const Registry& registry_;
    const SafetensorsReader& reader_;
    AsyncWriter& writer_;
    std::unique_ptr<GpuQuantizer> gpu_;
    std::unique_ptr<BiasCalibration> calibration_;  // --bias_correction synthetic only
    bool measure_;

    // The F32 copy of the weight being quantized, reused across layers: a fresh multi-MB
    // allocation per layer costs page faults and zero-filling that show up in the throughput.
    std::unique_ptr<float[]> weight_;
    size_t weight_capacity_ = 0;

    const float* load_f32(const TensorInfo& info);
    LayerOutcome quantize(const PlannedTensor& t);
    bool quantize_on_gpu(const PlannedTensor& t, QuantizedLayer& q);
    void queue_outputs(const PlannedTensor& t, QuantizedLayer& q);
    void queue_bias(const PlannedTensor& t, const float* w, const std::vector<float>& wq);
    std::string describe(const PlannedTensor& t, const std::optional<LearnedStats>& learned) const;
};

// "cuda:1" -> 1, "cuda" -> 0, "cpu" -> -1; anything else is an error.
int parse_device(const std::string& device);

}  // namespace ctq
