// Learned layers prepared on threads of their own, several at once, and finished (queued for the
// writer, counted, shown) in plan order. On a GPU one layer's search leaves the device idle
// between its many small steps and while its weight is read and rounded on the CPU; a second
// layer in flight fills those gaps. Every layer's result is the same whatever the depth: layers
// share no state, and each runs on a CUDA stream of its own.
#pragma once

#include "pipeline/layer_worker.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

namespace ctq {

class PrepareAhead {
public:
    using Done = std::function<void(const PlannedTensor&, LayerOutcome)>;

    // depth: layers in flight at most (1: none ahead, every layer is prepared when submitted).
    PrepareAhead(LayerSteps& worker, size_t depth, Done done);
    ~PrepareAhead();  // waits for the layers still running (an error unwinds through here)

    // Takes the next tensor in plan order. One the worker prepares concurrently starts on a thread
    // of its own; any other is processed on this thread once everything before it is finished.
    // Returns with fewer than depth layers running. A layer that is done waits for those before
    // it without holding a place: a long layer at the head must not leave the device to one
    // stream while the ones behind it are finished.
    void submit(const PlannedTensor& t);
    // Finishes everything still pending, in plan order.
    void finish_all();

private:
    struct InFlight {
        const PlannedTensor* tensor;
        std::future<PreparedLayer> prepared;  // not valid: processed here when its turn comes
        std::shared_ptr<std::atomic<bool>> done;  // prepare() has returned or thrown
    };
    LayerSteps& worker_;
    size_t depth_;
    Done done_;
    std::deque<InFlight> in_flight_;
    std::mutex mu_;
    std::condition_variable prepared_cv_;  // a prepare() has returned or thrown

    size_t running() const;
    void finish_oldest();
    void finish_ready_heads();
};

// Layers in flight for a run. On CUDA as many as fit in 70 % of the device's free memory at
// kLearnedBytesPerElement per element of the largest learned layer, at most 6: the search's many
// small steps leave the device idle unless several layers share it (bench model, H100: 1 -> 3 in
// flight 17.5 -> 12.5 s, 3 -> 6 12.0 -> 10.7 s; bench/RESULTS.md). 1 on the CPU (the engine already
// uses every core). CTQ_LEARNED_INFLIGHT=N (1..8) overrides.
constexpr unsigned long long kLearnedBytesPerElement = 64;
size_t learned_depth(const std::string& device, long long largest_elements, unsigned long long free_bytes);

}  // namespace ctq
