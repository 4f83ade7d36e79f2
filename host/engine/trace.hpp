// CTQ_ENGINE_TRACE=1: one line per layer on stderr saying where its time went (grid setup, SVD,
// method, judging) and how the method got there (rounds, accepted batches, retries, GEMMs).
// While tracing, each phase boundary waits for the layer's CUDA stream so that asynchronous work
// is booked to the phase that queued it (with layers in flight on other streams, phases overlap
// theirs); without tracing nothing waits.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace ctq::engine {

// What a method reports about its own work (flip_search fills the search fields).
struct MethodStats {
    int64_t rounds = 0;     // search rounds / relaxation iterations
    int64_t accepted = 0;   // batches of flips kept
    int64_t retries = 0;    // shorter prefixes tried after a rejected batch
    int64_t refreshes = 0;  // exact recomputations of P and ||E||^2
    int64_t anneals = 0;    // weight changes: annealing down and price moves
    int64_t flips = 0;      // flips applied (an element may flip more than once)
    double final_weight = 0;
    int64_t kicks = 0;  // price raised because the search stalled with the budget spent
    // The objective under the user's trade-off (full_error_weight) of the state the search ended
    // in, and of the one it returned (the best it remembered, when that was better).
    double end_objective = 0, objective = 0;
    // Seconds per part of a search round, measured only while tracing.
    double gemm_seconds = 0, select_seconds = 0, update_seconds = 0;
};

// Adds the time since the previous lap to a bucket; waits for the stream first. Only while
// tracing (otherwise a no-op that never synchronizes).
class PhaseClock {
public:
    explicit PhaseClock(const torch::Device& device);
    void lap(double* bucket);

private:
    torch::Device device_;
    bool on_;
    std::chrono::steady_clock::time_point last_;
};

class LayerTrace {
public:
    explicit LayerTrace(const torch::Device& device);
    static bool enabled();
    // Ends the current phase (no-op unless tracing).
    void mark(const char* phase);
    // The layer's line: name, shape, rank, device, phases, `detail`, then the run's totals so far
    // (layers, seconds per phase, rounds).
    void print(const std::string& name, int64_t rows, int64_t cols, int64_t k, int64_t rounds,
               const std::string& detail) const;

private:
    torch::Device device_;
    bool on_;
    std::chrono::steady_clock::time_point start_, last_;
    std::string phases_;
};

}  // namespace ctq::engine
