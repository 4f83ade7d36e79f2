#include "engine/trace.hpp"

#include "engine/torch_stream.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace ctq::engine {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// Totals over the process's layers so far, so the last line of a run sums it up.
struct RunTotals {
    std::mutex mutex;
    std::map<std::string, double> seconds;  // per phase, in name order
    int64_t layers = 0, rounds = 0;
    double total = 0;
};
RunTotals& run_totals() {
    static RunTotals totals;
    return totals;
}
}  // namespace

bool LayerTrace::enabled() {
    static const bool on = std::getenv("CTQ_ENGINE_TRACE") != nullptr;
    return on;
}

LayerTrace::LayerTrace(const torch::Device& device)
    : device_(device), on_(enabled()), start_(std::chrono::steady_clock::now()), last_(start_) {}

void LayerTrace::mark(const char* phase) {
    if (!on_) return;
    sync_stream(device_);
    const auto now = std::chrono::steady_clock::now();
    char buf[64];
    const double seconds = seconds_between(last_, now);
    std::snprintf(buf, sizeof buf, " %s %.3f", phase, seconds);
    phases_ += buf;
    RunTotals& totals = run_totals();
    const std::lock_guard<std::mutex> lock(totals.mutex);
    totals.seconds[phase] += seconds;
    last_ = now;
}

PhaseClock::PhaseClock(const torch::Device& device)
    : device_(device), on_(LayerTrace::enabled()), last_(std::chrono::steady_clock::now()) {}

void PhaseClock::lap(double* bucket) {
    if (!on_) return;
    sync_stream(device_);
    const auto now = std::chrono::steady_clock::now();
    if (bucket) *bucket += seconds_between(last_, now);
    last_ = now;
}

void LayerTrace::print(const std::string& name, int64_t rows, int64_t cols, int64_t k, int64_t rounds,
                       const std::string& detail) const {
    if (!on_) return;
    const double total = seconds_between(start_, std::chrono::steady_clock::now());
    std::string run;
    {
        RunTotals& totals = run_totals();
        const std::lock_guard<std::mutex> lock(totals.mutex);
        ++totals.layers;
        totals.rounds += rounds;
        totals.total += total;
        char buf[96];
        std::snprintf(buf, sizeof buf, "run so far: %lld layers %.2f s (", static_cast<long long>(totals.layers),
                      totals.total);
        run = buf;
        for (const auto& [phase, seconds] : totals.seconds) {
            std::snprintf(buf, sizeof buf, "%s %.2f ", phase.c_str(), seconds);
            run += buf;
        }
        std::snprintf(buf, sizeof buf, "rounds %lld)", static_cast<long long>(totals.rounds));
        run += buf;
    }
    std::fprintf(stderr, "[engine] %s %lldx%lld k=%lld %s%s total %.3f s | %s | %s\n", name.c_str(),
                 static_cast<long long>(rows), static_cast<long long>(cols), static_cast<long long>(k),
                 device_.str().c_str(), phases_.c_str(), total, detail.c_str(), run.c_str());
}

}  // namespace ctq::engine
