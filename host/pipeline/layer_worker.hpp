// The work on one tensor: load it as F32, check it, quantize (round-to-nearest on the CPU or
// GPU, then learned rounding if planned), and queue its output tensors for the writer.
#pragma once

#include "cli/convert_options.hpp"
#include "io/safetensors_reader.hpp"
#include "pipeline/async_writer.hpp"
#include "pipeline/f32_pool.hpp"
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

// What prepare() computed for one quantized tensor, not yet queued for the writer.
struct PreparedLayer {
    QuantizedLayer q;
    std::vector<uint8_t> bias;  // the corrected bias's bytes (--bias_correction)
    LayerOutcome outcome;
};

// The steps PrepareAhead drives (LayerWorker's; a test drives its own).
class LayerSteps {
public:
    virtual ~LayerSteps() = default;
    virtual bool prepares_concurrently(const PlannedTensor& t) const = 0;
    virtual PreparedLayer prepare(const PlannedTensor& t) = 0;
    virtual LayerOutcome finish(const PlannedTensor& t, PreparedLayer p) = 0;
    virtual LayerOutcome process(const PlannedTensor& t) = 0;
};

class LayerWorker : public LayerSteps {
public:
    LayerWorker(const ConvertOptions& options, const Registry& registry, const SafetensorsReader& reader,
                AsyncWriter& writer);
    ~LayerWorker();
    // Any tensor, on this thread: prepare() and finish() for a quantized one.
    LayerOutcome process(const PlannedTensor& t) override;
    // True for the tensors prepare() may run for on another thread while this one goes on (learned
    // rounding without bias correction: minutes of engine work that share no state here); their
    // finish() must still come in plan order, on this thread.
    bool prepares_concurrently(const PlannedTensor& t) const override;
    PreparedLayer prepare(const PlannedTensor& t) override;
    LayerOutcome finish(const PlannedTensor& t, PreparedLayer p) override;
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

    F32Pool weights_;  // F32 copies of the weights being quantized

    F32Pool::Lease load_f32(const TensorInfo& info);
    PreparedLayer quantize(const PlannedTensor& t);
    bool quantize_on_gpu(const PlannedTensor& t, QuantizedLayer& q);
    void queue_outputs(const PlannedTensor& t, QuantizedLayer& q);
    std::vector<uint8_t> corrected_bias(const PlannedTensor& t, const float* w, const float* wq) const;
    std::string describe(const PlannedTensor& t, const std::optional<LearnedStats>& learned) const;
};

// "cuda:1" -> 1, "cuda" -> 0, "cpu" -> -1; anything else is an error.
int parse_device(const std::string& device);

}  // namespace ctq
