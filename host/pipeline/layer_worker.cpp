#include "pipeline/layer_worker.hpp"

#include "core/error.hpp"
#include "pipeline/engine_loader.hpp"
#include "pipeline/learned_options.hpp"
#include "io/convert_dtype.hpp"

#include <ctq/dtype.hpp>

#include <chrono>
#include <cstring>

namespace ctq {

namespace {

// The stored scale tensor's values, for statistics and the text-encoder input_scale rule.
std::vector<float> scale_values(const QuantizedLayer& q) {
    for (size_t i = 1; i < q.specs.size(); ++i) {
        if (q.specs[i].dtype != CTQ_DTYPE_F32 || std::string(q.specs[i].suffix) != ".weight_scale") continue;
        const auto* p = reinterpret_cast<const float*>(q.buffers[i].data());
        return std::vector<float>(p, p + q.buffers[i].size() / sizeof(float));
    }
    return {};
}

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + n);
}

}  // namespace

int parse_device(const std::string& device) {
    if (device == "cpu") return -1;
    if (device == "cuda") return 0;
    if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
        device.find_first_not_of("0123456789", 5) == std::string::npos)
        return std::stoi(device.substr(5));
    throw CtqError("--device: '" + device + "' is neither cpu nor cuda[:N]");
}

LayerWorker::LayerWorker(const ConvertOptions& options, const Registry& registry, const SafetensorsReader& reader,
                         AsyncWriter& writer)
    : options_(options), registry_(registry), reader_(reader), writer_(writer),
      measure_(!options.report.empty() || options.verbose == "VERBOSE" || options.verbose == "DEBUG") {
    const int device = parse_device(options.device);
    writer_.keep_written();  // CPU layers too take their output buffers from writer_.reuse()
    if (device >= 0) gpu_ = std::make_unique<GpuQuantizer>(device, reader_);
    if (!options.bias_correction.empty())
        calibration_ = engine().make_bias_calibration(static_cast<uint64_t>(options.manual_seed), options.calib_samples);
}

LayerWorker::~LayerWorker() = default;

void LayerWorker::plan_ahead(const std::vector<PlannedTensor>& planned) {
    if (gpu_) gpu_->expect(planned);
}

std::string LayerWorker::device_summary() const { return gpu_ ? gpu_->summary() : std::string(); }

F32Pool::Lease LayerWorker::load_f32(const TensorInfo& info) {
    const uint64_t n = info.numel();
    F32Pool::Lease weight = weights_.take(n);
    const NonFinite nf = to_f32_checked(reader_.data(info), info.dtype, n, weight.data());
    if (nf.count) {
        const int64_t cols = info.shape.size() == 2 ? info.shape[1] : 1;
        fail(reader_.path().string(), info.name,
             std::to_string(nf.count) + " non-finite value(s) (NaN or Inf), first at [" +
                 std::to_string(nf.first_index / cols) + ", " + std::to_string(nf.first_index % cols) +
                 "]; refusing to quantize it (keep the layer with --exclude-layers)");
    }
    return weight;
}

LayerOutcome LayerWorker::process(const PlannedTensor& t) {
    switch (t.plan.action) {
        case PlanAction::Drop: return {std::nullopt, "dropped (" + t.plan.reason + ")"};
        case PlanAction::Copy:
            if (!t.bias_handled_by_layer) writer_.push_input(*t.input);
            return {std::nullopt, "kept (" + t.plan.reason + ")"};
        case PlanAction::Quantize: return finish(t, prepare(t));
    }
    return {};
}

bool LayerWorker::prepares_concurrently(const PlannedTensor& t) const {
    return t.plan.action == PlanAction::Quantize && t.plan.method == RoundingMethod::Learned && !t.corrected_bias;
}

PreparedLayer LayerWorker::prepare(const PlannedTensor& t) {
    try {
        return quantize(t);
    } catch (const CtqError& e) {
        const std::string file = reader_.path().string();
        if (std::string(e.what()).rfind(file + ": ", 0) == 0) throw;  // already names the file
        throw CtqError(file + ": " + e.what());
    }
}

LayerOutcome LayerWorker::finish(const PlannedTensor& t, PreparedLayer p) {
    queue_outputs(t, p.q);
    if (t.corrected_bias) writer_.push(t.corrected_bias->name, std::move(p.bias));
    return std::move(p.outcome);
}

bool LayerWorker::quantize_on_gpu(const PlannedTensor& t, QuantizedLayer& q) {
    return gpu_ && gpu_->quantize(*t.ops, *t.input, q);
}

PreparedLayer LayerWorker::quantize(const PlannedTensor& t) {
    const auto start = std::chrono::steady_clock::now();
    const TensorInfo& info = *t.input;
    const int64_t rows = info.shape[0], cols = info.shape[1];
    const LayoutOps& ops = *t.ops;
    const bool learned_planned = t.plan.method == RoundingMethod::Learned;
    PreparedLayer p;
    QuantizedLayer& q = p.q;
    q = ops.allocate(rows, cols, [this](size_t n) { return writer_.reuse(n); });
    F32Pool::Lease weight;
    const bool on_gpu = !learned_planned && quantize_on_gpu(t, q);
    // Round-to-nearest that needs no F32 weight of its own reads the mapping as stored. A weight
    // the layout refuses for NaN/Inf goes on to load_f32, whose error names file and position.
    const bool needs_f32 = learned_planned || measure_ || t.corrected_bias;
    const uint8_t* stored = reader_.data(info);
    const bool from_stored = !on_gpu && !needs_f32 && ops.accepts_stored(stored, info.dtype) &&
                             ops.quantize_stored(stored, info.dtype, q);
    if ((!on_gpu && !from_stored) || needs_f32) weight = load_f32(info);
    const float* w = weight.data();
    if (!on_gpu && !from_stored) ops.quantize(w, q);
    reader_.release(info);

    std::optional<LearnedStats> learned;
    if (learned_planned) {
        if (!ops.supports_learned())
            fail("", info.name, std::string("layout '") + ops.desc().name +
                                    "' has no grid operations for learned rounding; use --simple");
        learned = engine().learn_rounding(ops, w, q, to_learned_options(options_), registry_, nullptr);
    }
    LayerOutcome& out = p.outcome;
    F32Pool::Lease wq;  // from the pool, as the weight: a fresh zero-filled layer each time cost page faults
    if (measure_ || t.corrected_bias) {
        wq = weights_.take(static_cast<size_t>(rows * cols));
        ops.dequantize(q, wq.data());
    }
    if (measure_) {
        out.stats = measure_layer(info.name, ops.desc().name, rows, cols, w, wq.data(), scale_values(q));
        out.stats->method = learned ? options_.learned.optimizer : "nearest";
        if (learned) {
            out.stats->rtn_subspace_ratio = learned->rtn_subspace > 0 ? learned->subspace / learned->rtn_subspace : 1.0;
            out.stats->rtn_full_ratio = learned->rtn_full > 0 ? learned->full / learned->rtn_full : 1.0;
            if (learned->subspace_bound >= 0) out.stats->rtn_subspace_bound = learned->subspace_bound;
            out.stats->iterations = learned->iterations;
        }
    }
    out.note = describe(t, learned);
    if (t.corrected_bias) p.bias = corrected_bias(t, w, wq.data());
    if (out.stats)
        out.stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
}

void LayerWorker::queue_outputs(const PlannedTensor& t, QuantizedLayer& q) {
    const std::vector<float> scales = t.host_input_scale ? scale_values(q) : std::vector<float>{};
    for (size_t i = 0; i < q.specs.size(); ++i) writer_.push(t.plan.base + q.specs[i].suffix, std::move(q.buffers[i]));
    writer_.push(t.plan.base + ".comfy_quant", bytes_of(t.comfy_quant.data(), t.comfy_quant.size()));
    if (t.host_input_scale) {
        // The reference's text-encoder rule stores the (scalar) weight scale; --input_scale 1.0.
        const float v = (t.plan.input_scale_from_text_encoder && scales.size() == 1) ? scales[0] : 1.0f;
        writer_.push(t.plan.base + ".input_scale", bytes_of(&v, sizeof v));
    }
}

std::vector<uint8_t> LayerWorker::corrected_bias(const PlannedTensor& t, const float* w,
                                                 const float* wq) const {
    const TensorInfo& b = *t.corrected_bias;
    std::vector<float> bias(b.numel());
    to_f32(reader_.data(b), b.dtype, b.numel(), bias.data());
    const auto c = calibration_->correction(w, wq, t.input->shape[0], t.input->shape[1]);
    for (size_t i = 0; i < bias.size(); ++i) bias[i] -= c[i];
    std::vector<uint8_t> bytes(b.nbytes());
    from_f32(bias.data(), bias.size(), b.dtype, bytes.data());
    return bytes;
}

std::string LayerWorker::describe(const PlannedTensor& t, const std::optional<LearnedStats>& learned) const {
    std::string s = std::string(t.ops->desc().name) + " " + std::to_string(t.input->shape[0]) + "x" +
                    std::to_string(t.input->shape[1]) + " [" + t.plan.tier + "]";
    if (learned) {
        char buf[200];
        std::snprintf(buf, sizeof buf, ", %s k=%lld: subspace %.3fx, full %.4fx of nearest%s",
                      options_.learned.optimizer.c_str(), (long long)learned->k,
                      learned->rtn_subspace > 0 ? learned->subspace / learned->rtn_subspace : 1.0,
                      learned->rtn_full > 0 ? learned->full / learned->rtn_full : 1.0,
                      learned->kept_rtn ? " (kept nearest)" : "");
        s += buf;
        if (learned->subspace_bound >= 0) {
            std::snprintf(buf, sizeof buf, "; no rounding within the cap below %.3fx", learned->subspace_bound);
            s += buf;
        }
    }
    return s;
}

}  // namespace ctq
