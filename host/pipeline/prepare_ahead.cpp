#include "pipeline/prepare_ahead.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace ctq {

PrepareAhead::PrepareAhead(LayerSteps& worker, size_t depth, Done done)
    : worker_(worker), depth_(depth < 1 ? 1 : depth), done_(std::move(done)) {}

PrepareAhead::~PrepareAhead() {
    for (auto& f : in_flight_)
        if (f.prepared.valid()) f.prepared.wait();
}

namespace {

// Done layers waiting behind the head hold their quantized output in memory (one byte or two
// per element): at most this many times the depth.
constexpr size_t kQueuedPerDepth = 2;

}  // namespace

void PrepareAhead::submit(const PlannedTensor& t) {
    InFlight f{&t, {}, std::make_shared<std::atomic<bool>>(false)};
    if (depth_ > 1 && worker_.prepares_concurrently(t))
        f.prepared = std::async(std::launch::async, [this, &t, done = f.done] {
            struct MarkDone {  // also when prepare() throws
                PrepareAhead* self;
                std::atomic<bool>& done;
                ~MarkDone() {
                    std::lock_guard<std::mutex> lock(self->mu_);
                    done = true;
                    self->prepared_cv_.notify_all();
                }
            } mark{this, *done};
            return worker_.prepare(t);
        });
    in_flight_.push_back(std::move(f));
    for (;;) {
        finish_ready_heads();
        if (in_flight_.size() >= kQueuedPerDepth * depth_) {
            finish_oldest();  // the head is still running and holds up too many done behind it
            continue;
        }
        if (running() < depth_) return;
        std::unique_lock<std::mutex> lock(mu_);  // done flags are set under it: no wake-up is lost
        prepared_cv_.wait(lock, [&] { return running() < depth_; });
    }
}

// Finishes, in plan order, the leading layers that need no more waiting (a done layer, or one
// processed on this thread).
void PrepareAhead::finish_ready_heads() {
    while (!in_flight_.empty() && (!in_flight_.front().prepared.valid() || *in_flight_.front().done))
        finish_oldest();
}

size_t PrepareAhead::running() const {
    size_t n = 0;
    for (const auto& f : in_flight_) n += f.prepared.valid() && !*f.done;
    return n;
}

void PrepareAhead::finish_all() {
    while (!in_flight_.empty()) finish_oldest();
}

void PrepareAhead::finish_oldest() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (!f.prepared.valid()) {
        done_(*f.tensor, worker_.process(*f.tensor));
        return;
    }
    PreparedLayer p = f.prepared.get();  // rethrows the layer's error
    done_(*f.tensor, worker_.finish(*f.tensor, std::move(p)));
}

size_t learned_depth(const std::string& device, long long largest_elements, unsigned long long free_bytes) {
    if (const char* v = std::getenv("CTQ_LEARNED_INFLIGHT")) {
        char* end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < 1 || n > 8)
            throw CtqError(std::string("CTQ_LEARNED_INFLIGHT must be a whole number from 1 to 8, not '") + v + "'");
        return static_cast<size_t>(n);
    }
    if (device == "cpu") return 1;
    constexpr size_t kMaxDepth = 6;
    const unsigned long long per_layer = std::max(1ULL, static_cast<unsigned long long>(std::max(0LL, largest_elements))) *
                                         kLearnedBytesPerElement;
    return std::clamp<size_t>(static_cast<size_t>(free_bytes / 10 * 7 / per_layer), 1, kMaxDepth);
}

}  // namespace ctq
