// Learned layers prepared several at once (CTQ_LEARNED_INFLIGHT, up to 6 by default on CUDA) must give
// the same file and the same report order as one at a time: layers share no state, and the
// writer still takes tensors in plan order, copies and biases between them included.
#include "pipeline/prepare_ahead.hpp"
#include "support/cli.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <vector>

using namespace ctq::test;

namespace {
struct Converted {
    std::string bytes;
    nlohmann::json report;
};

Converted convert(TempDir& dir, const std::string& depth, const std::string& extra) {
    const std::string out = dir / ("d" + depth + ".safetensors"), report = dir / ("d" + depth + ".json");
    // One torch thread per layer: on the CPU, layers in flight each running a pool as wide as the
    // machine oversubscribe it badly (minutes on 16 cores), and the same thread count in both
    // runs is what determinism is promised for.
    const RunResult r = run_shell("OMP_NUM_THREADS=1 CTQ_LEARNED_INFLIGHT=" + depth + " " + ctq_exe() + " -i " +
                                  golden("tiny_flux.safetensors") + " -o " + out + " --manual_seed 5 --no_progress --report " +
                                  report + " " + extra);
    INFO(r.output);
    REQUIRE(r.status == 0);
    return {file_bytes(out), nlohmann::json::parse(std::ifstream(report))};
}

std::vector<std::string> layer_names(const nlohmann::json& report) {
    std::vector<std::string> names;
    for (const auto& l : report["layers"]) names.push_back(l["name"].get<std::string>());
    return names;
}
}  // namespace

TEST_CASE("learned layers in flight at once: same bytes, same order as one at a time") {
    for (const char* extra : {"", "--int8 --scaling_mode row"}) {
        CAPTURE(extra);
        TempDir dir;
        const Converted one = convert(dir, "1", extra), three = convert(dir, "3", extra);
        CHECK(one.bytes == three.bytes);
        CHECK(layer_names(one.report) == layer_names(three.report));
        REQUIRE(one.report["layers"].size() > 2);  // several learned layers really were in flight
        for (const auto& l : three.report["layers"]) CHECK(l["method"] == "search");
    }
}

namespace {
// Layer 0 runs until layer `awaited` has started (or `patience` passes); the others return at once.
// Tensors are told apart by their address in `planned`.
class SlowHeadSteps : public ctq::LayerSteps {
public:
    SlowHeadSteps(const std::vector<ctq::PlannedTensor>& planned, size_t awaited, std::chrono::milliseconds patience)
        : planned_(planned), awaited_(awaited), patience_(patience) {}
    bool prepares_concurrently(const ctq::PlannedTensor&) const override { return true; }
    ctq::PreparedLayer prepare(const ctq::PlannedTensor& t) override {
        const size_t i = index(t);
        std::unique_lock<std::mutex> lock(mu_);
        started_.push_back(i);
        cv_.notify_all();
        if (i == 0) head_saw_awaited_ = cv_.wait_for(lock, patience_, [&] { return started(awaited_); });
        return {};
    }
    ctq::LayerOutcome finish(const ctq::PlannedTensor& t, ctq::PreparedLayer) override {
        finished_.push_back(index(t));
        return {};
    }
    ctq::LayerOutcome process(const ctq::PlannedTensor& t) override { return finish(t, prepare(t)); }

    std::vector<size_t> finished_;
    bool head_saw_awaited_ = false;

private:
    const std::vector<ctq::PlannedTensor>& planned_;
    size_t awaited_;
    std::chrono::milliseconds patience_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<size_t> started_;
    size_t index(const ctq::PlannedTensor& t) const { return static_cast<size_t>(&t - planned_.data()); }
    bool started(size_t i) const { return std::find(started_.begin(), started_.end(), i) != started_.end(); }
};
}  // namespace

TEST_CASE("a long layer at the head does not hold up the layers behind it, and finishing stays in plan order") {
    std::vector<ctq::PlannedTensor> planned(8);
    // Depth 2: layers 1, 2 and 3 each finish at once while layer 0 still runs, so layer 3 starts
    // only if done layers give their place up (the head alone counts as running).
    SlowHeadSteps steps(planned, 3, std::chrono::seconds(20));  // only a broken scheduler waits
    {
        ctq::PrepareAhead ahead(steps, 2, [](const ctq::PlannedTensor&, ctq::LayerOutcome) {});
        for (const auto& t : planned) ahead.submit(t);
        ahead.finish_all();
    }
    CHECK(steps.head_saw_awaited_);
    CHECK(steps.finished_ == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("done layers queued behind a running head are bounded (twice the depth)") {
    std::vector<ctq::PlannedTensor> planned(8);
    // Depth 2 allows 4 entries in flight: layer 4 cannot start before layer 0 has finished.
    SlowHeadSteps steps(planned, 4, std::chrono::milliseconds(500));
    {
        ctq::PrepareAhead ahead(steps, 2, [](const ctq::PlannedTensor&, ctq::LayerOutcome) {});
        for (const auto& t : planned) ahead.submit(t);
        ahead.finish_all();
    }
    CHECK_FALSE(steps.head_saw_awaited_);  // (after its wait ran out)
    CHECK(steps.finished_ == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("CTQ_LEARNED_INFLIGHT out of range is one clear error and no output") {
    TempDir dir;
    const std::string out = dir / "x.safetensors";
    const RunResult r = run_shell("CTQ_LEARNED_INFLIGHT=0 " + ctq_exe() + " -i " + golden("tiny_flux.safetensors") +
                                  " -o " + out + " --no_progress");
    CHECK(r.status != 0);
    CHECK(r.output.find("CTQ_LEARNED_INFLIGHT must be a whole number from 1 to 8, not '0'") != std::string::npos);
    CHECK_FALSE(std::ifstream(out).good());
}

TEST_CASE("layers in flight by default: 1 on the CPU, on CUDA as many as the free memory holds, at most 6") {
    unsetenv("CTQ_LEARNED_INFLIGHT");
    constexpr unsigned long long GB = 1000ULL * 1000 * 1000;
    const long long flux_mod = 18432LL * 3072;  // the bench model's largest layer
    CHECK(ctq::learned_depth("cpu", flux_mod, 80 * GB) == 1);
    CHECK(ctq::learned_depth("cuda", flux_mod, 80 * GB) == 6);  // an H100: 80 GB free
    // A 24 GB card and a 5120 x 13824 layer (~4.5 GB of search state): three fit in 70 % of it.
    CHECK(ctq::learned_depth("cuda:0", 5120LL * 13824, 24 * GB) == 3);
    CHECK(ctq::learned_depth("cuda", flux_mod, 0) == 1);  // nothing free (or unknown): one at a time
    setenv("CTQ_LEARNED_INFLIGHT", "2", 1);
    CHECK(ctq::learned_depth("cuda", flux_mod, 0) == 2);
    CHECK(ctq::learned_depth("cpu", flux_mod, 0) == 2);
    unsetenv("CTQ_LEARNED_INFLIGHT");
}
