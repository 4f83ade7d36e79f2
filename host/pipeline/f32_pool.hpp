// F32 copies of weights, reused across layers and safe to take from several threads: a fresh
// multi-MB allocation per layer costs page faults and zero-filling that show up in the
// throughput, and learned layers in flight at once each need a copy of their own.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace ctq {

class F32Pool {
    struct Buffer {
        std::unique_ptr<float[]> data;
        size_t capacity = 0;
    };

public:
    // A buffer of at least n floats (contents unspecified) that goes back to the pool when the
    // lease ends.
    class Lease {
    public:
        Lease() = default;
        Lease(F32Pool* pool, Buffer b) : pool_(pool), buffer_(std::move(b)) {}
        Lease(Lease&& o) noexcept : pool_(o.pool_), buffer_(std::move(o.buffer_)) { o.pool_ = nullptr; }
        Lease& operator=(Lease&& o) noexcept {
            give_back();
            pool_ = o.pool_;
            buffer_ = std::move(o.buffer_);
            o.pool_ = nullptr;
            return *this;
        }
        ~Lease() { give_back(); }
        float* data() const { return buffer_.data.get(); }

    private:
        F32Pool* pool_ = nullptr;
        Buffer buffer_;
        void give_back() {
            if (pool_ && buffer_.data) pool_->put(std::move(buffer_));
            pool_ = nullptr;
        }
    };

    Lease take(size_t n) {
        {
            const std::lock_guard<std::mutex> lock(mu_);
            // The largest free buffer: the pool stays at the few sizes the model's layers need.
            auto best = free_.end();
            for (auto it = free_.begin(); it != free_.end(); ++it)
                if (best == free_.end() || it->capacity > best->capacity) best = it;
            if (best != free_.end() && best->capacity >= n) {
                Buffer b = std::move(*best);
                free_.erase(best);
                return Lease(this, std::move(b));
            }
            if (best != free_.end()) free_.erase(best);  // too small: replaced by a larger one
        }
        // Uninitialised on purpose: every element is written next.
        return Lease(this, Buffer{std::unique_ptr<float[]>(new float[n]), n});
    }

private:
    std::mutex mu_;
    std::vector<Buffer> free_;
    void put(Buffer b) {
        const std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(std::move(b));
    }
};

}  // namespace ctq
