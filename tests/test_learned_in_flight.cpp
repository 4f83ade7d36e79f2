// Learned layers prepared several at once (CTQ_LEARNED_INFLIGHT, up to 6 by default on CUDA) must give
// the same file and the same report order as one at a time: layers share no state, and the
// writer still takes tensors in plan order, copies and biases between them included.
#include "pipeline/prepare_ahead.hpp"
#include "support/cli.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

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
