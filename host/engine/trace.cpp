#include "engine/trace.hpp"

#include <cstdio>
#include <cstdlib>

namespace ctq::engine {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
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
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
    const auto now = std::chrono::steady_clock::now();
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.3f", phase, seconds_between(last_, now));
    phases_ += buf;
    last_ = now;
}

PhaseClock::PhaseClock(const torch::Device& device)
    : device_(device), on_(LayerTrace::enabled()), last_(std::chrono::steady_clock::now()) {}

void PhaseClock::lap(double* bucket) {
    if (!on_) return;
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
    const auto now = std::chrono::steady_clock::now();
    if (bucket) *bucket += seconds_between(last_, now);
    last_ = now;
}

void LayerTrace::print(const std::string& name, int64_t rows, int64_t cols, int64_t k,
                       const std::string& detail) const {
    if (!on_) return;
    std::fprintf(stderr, "[engine] %s %lldx%lld k=%lld %s%s total %.3f s | %s\n", name.c_str(),
                 static_cast<long long>(rows), static_cast<long long>(cols), static_cast<long long>(k),
                 device_.str().c_str(), phases_.c_str(), seconds_between(start_, std::chrono::steady_clock::now()),
                 detail.c_str());
}

}  // namespace ctq::engine
