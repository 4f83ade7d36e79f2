#include "pipeline/convert.hpp"

#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"
#include "pipeline/async_writer.hpp"
#include "pipeline/cuda_startup.hpp"
#include "pipeline/layer_worker.hpp"
#include "pipeline/output_plan.hpp"
#include "pipeline/prepare_ahead.hpp"
#include "plan/layer_config_template.hpp"
#include "plan/output_name.hpp"
#include "plan/plan_table.hpp"
#include "plan/planner.hpp"
#include "plugins/registry.hpp"
#include "core/human_bytes.hpp"
#include "report/progress.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

namespace ctq {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Output bytes computed but not yet written: enough to keep the writer busy while the next
// layer is quantized, small beside any model.
constexpr uint64_t kMaxBytesInFlight = 128ull << 20;

void write_text_atomically(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".ctq-tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw CtqError(path.string() + ": cannot write");
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {  // e.g. the path is a folder: the temporary must not stay behind
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw CtqError(path.string() + ": cannot write: " + ec.message());
    }
}

int dry_run(const ConvertOptions& o, const SafetensorsReader& reader, const std::vector<LayerPlan>& plans) {
    if (o.dry_run == "create-template") {
        const fs::path out = o.output.empty() ? fs::path(template_output_name(o.input)) : fs::path(o.output);
        write_text_atomically(out, dump_template(create_template(reader.tensors())));
        std::printf("Wrote layer-config template: %s\n", out.string().c_str());
        return 0;
    }
    std::fputs(format_plan_table(plans).c_str(), stdout);
    std::printf("Dry run: nothing was written.\n");
    return 0;
}

void write_report(const fs::path& path, const ConvertOptions& o, const std::string& output,
                  const std::vector<LayerStats>& stats, double seconds) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& s : stats) layers.push_back(to_json(s));
    nlohmann::json doc = {{"input", o.input}, {"output", output}, {"seconds", seconds}, {"layers", layers}};
    write_text_atomically(path, doc.dump(2) + "\n");
}

// Learned layers in flight (learned_depth), sized by the largest learned layer and, on CUDA, the
// device's free memory.
size_t in_flight_depth(const ConvertOptions& o, const std::vector<PlannedTensor>& planned) {
    unsigned long long largest = 0;
    for (const auto& t : planned)
        if (t.plan.method == RoundingMethod::Learned) largest = std::max<unsigned long long>(largest, t.input->numel());
    if (largest == 0) return 1;
    const int device = parse_device(o.device);
    return learned_depth(o.device, static_cast<long long>(largest), device >= 0 ? cuda_free_bytes(device) : 0);
}

}  // namespace

int run_convert(const ConvertOptions& options, Registry& registry) {
    const auto started = Clock::now();
    ConvertOptions o = options;
    if (o.manual_seed < 0) o.manual_seed = static_cast<int64_t>(std::random_device{}() & 0xffffffffu);
    SafetensorsReader reader(o.input);
    Planner planner(o.plan, registry);
    std::vector<LayerPlan> plans = planner.plan(reader.tensors());
    if (!o.dry_run.empty()) return dry_run(o, reader, plans);

    const std::string output = o.output.empty() ? auto_output_name(o.input, o.plan) : o.output;
    auto planned = plan_outputs(reader.tensors(), std::move(plans), !o.bias_correction.empty());
    auto metadata = reader.metadata();
    if (o.save_quant_metadata) metadata["_quantization_metadata"] = quantization_metadata(planned);
    SafetensorsWriter writer(output, output_tensors(planned), metadata, {fs::path(o.input)});

    std::printf("Using seed: %lld\nProcessing: %s\nOutput will be saved to: %s\n", (long long)o.manual_seed,
                o.input.c_str(), output.c_str());
    std::fflush(stdout);
    Progress progress(planned.size(), reader.file_size(), o.progress && o.verbose != "MINIMAL",
                      o.verbose == "VERBOSE" || o.verbose == "DEBUG");
    AsyncWriter queue(writer, reader, kMaxBytesInFlight);
    LayerWorker worker(o, registry, reader, queue);
    worker.plan_ahead(planned);
    std::vector<LayerStats> stats;
    size_t quantized = 0, kept = 0, dropped = 0;
    const double planning = seconds_since(started);
    auto done = [&](const PlannedTensor& t, LayerOutcome r) {
        if (r.stats) stats.push_back(*r.stats);
        quantized += t.plan.action == PlanAction::Quantize;
        kept += t.plan.action == PlanAction::Copy;
        dropped += t.plan.action == PlanAction::Drop;
        progress.item_done(t.input->name, t.input->nbytes(), r.note);
    };
    const auto computing_start = Clock::now();
    {
        PrepareAhead ahead(worker, in_flight_depth(o, planned), done);
        for (const auto& t : planned) ahead.submit(t);
        ahead.finish_all();
    }
    const double computing = seconds_since(computing_start);
    auto t0 = Clock::now();
    queue.drain();
    const double draining = seconds_since(t0);
    t0 = Clock::now();
    writer.commit();
    const double committing = seconds_since(t0);
    progress.finish();
    const double seconds = progress.elapsed_seconds();
    std::error_code ec;
    const auto out_size = fs::file_size(output, ec);
    std::printf("Conversion complete: %s\nSummary: %zu tensors in, %zu layers quantized, %zu tensors kept, %zu dropped; "
                "%s in, %s out, %.2f s (%s/s)\n",
                output.c_str(), planned.size(), quantized, kept, dropped, human_bytes(reader.file_size()).c_str(),
                human_bytes(static_cast<double>(out_size)).c_str(), seconds,
                human_bytes(seconds > 0 ? reader.file_size() / seconds : 0).c_str());
    std::printf("Time: %.2f s computing (reading, converting, quantizing), %.2f s waiting for the writer, "
                "%.2f s flushing to disk (fsync); %.2f s opening and planning\n",
                computing, draining, committing, planning);
    if (const std::string gpu = worker.device_summary(); !gpu.empty()) std::printf("Time: %s\n", gpu.c_str());
    if (!o.report.empty()) {
        write_report(o.report, o, output, stats, seconds);
        std::printf("Report: %s\n", o.report.c_str());
    }
    std::fflush(stdout);  // the lines appear when the run is done, not when the process ends
    return 0;
}

}  // namespace ctq
