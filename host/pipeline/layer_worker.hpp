// The work on one tensor: load it as F32, check it, quantize (round-to-nearest, then learned
// rounding if planned), and hand its output tensors to the writer.
#pragma once

#include "cli/convert_options.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"
#include "pipeline/output_plan.hpp"
#include "report/layer_stats.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ctq {

class Registry;
class Progress;

struct LayerOutcome {
    std::optional<LayerStats> stats;  // when measured (--report or verbose)
    std::string note;                 // one line for the progress display
};

class LayerWorker {
public:
    LayerWorker(const ConvertOptions& options, const Registry& registry, const SafetensorsReader& reader,
                SafetensorsWriter& writer, Progress& progress);
    LayerOutcome process(const PlannedTensor& t);

private:
    const ConvertOptions& options_;
    const Registry& registry_;
    const SafetensorsReader& reader_;
    SafetensorsWriter& writer_;
    Progress& progress_;
    bool measure_;

    void copy(const TensorInfo& info);
    std::vector<float> load_f32(const TensorInfo& info) const;
    LayerOutcome quantize(const PlannedTensor& t);
    void write_bias(const PlannedTensor& t, const std::vector<float>& w, const std::vector<float>& wq);
};

}  // namespace ctq
