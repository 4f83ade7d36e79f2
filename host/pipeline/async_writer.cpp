#include "pipeline/async_writer.hpp"

#include <algorithm>

namespace ctq {

namespace {
constexpr uint64_t kChunk = 64ull << 20;  // mapped input is written in pieces, then released
}

AsyncWriter::AsyncWriter(SafetensorsWriter& writer, const SafetensorsReader& reader, uint64_t max_bytes_in_flight)
    : writer_(writer), reader_(reader), max_bytes_(max_bytes_in_flight), thread_([this] { run(); }) {}

AsyncWriter::~AsyncWriter() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void AsyncWriter::rethrow_locked() {
    if (error_) std::rethrow_exception(error_);
}

void AsyncWriter::enqueue(Item item) {
    std::unique_lock<std::mutex> lock(mu_);
    // A single item larger than the bound is still accepted once the queue is empty.
    cv_.wait(lock, [&] { return error_ || queue_.empty() || queued_bytes_ + item.size() <= max_bytes_; });
    rethrow_locked();
    queued_bytes_ += item.size();
    queue_.push_back(std::move(item));
    cv_.notify_all();
}

void AsyncWriter::push(std::string name, std::vector<uint8_t> bytes) {
    Item item;
    item.name = std::move(name);
    item.owned = std::move(bytes);
    enqueue(std::move(item));
}

void AsyncWriter::push_input(const TensorInfo& info) {
    Item item;
    item.name = info.name;
    item.input = &info;
    enqueue(std::move(item));
}

void AsyncWriter::drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
    rethrow_locked();
}

void AsyncWriter::keep_written() {
    std::lock_guard<std::mutex> lock(mu_);
    keep_written_ = true;
}

std::vector<uint8_t> AsyncWriter::reuse(size_t n) {
    std::vector<uint8_t> v;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto best = kept_.end();  // the smallest kept buffer that holds n bytes
        for (auto it = kept_.begin(); it != kept_.end(); ++it)
            if (it->capacity() >= n && (best == kept_.end() || it->capacity() < best->capacity())) best = it;
        if (best != kept_.end()) {
            kept_bytes_ -= best->capacity();
            v = std::move(*best);
            kept_.erase(best);
        }
    }
    v.resize(n);  // within the capacity: no allocation, no page faults
    return v;
}

// Keeps a written buffer (one not kept is freed by the caller, outside the lock), dropping the
// smallest kept ones beyond the bound: large ones are the costly ones to allocate.
void AsyncWriter::keep_locked(std::vector<uint8_t>& bytes) {
    if (!keep_written_ || bytes.capacity() < (64u << 10)) return;
    kept_bytes_ += bytes.capacity();
    kept_.push_back(std::move(bytes));
    while (kept_bytes_ > max_bytes_ && kept_.size() > 1) {
        auto smallest = std::min_element(kept_.begin(), kept_.end(),
                                         [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
        kept_bytes_ -= smallest->capacity();
        kept_.erase(smallest);
    }
}

void AsyncWriter::run() {
    for (;;) {
        Item item;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (stop_ || error_) return;  // normal completion drains first; stop discards
            item = std::move(queue_.front());
            queue_.pop_front();
            busy_ = true;
        }
        try {
            if (item.input) {
                const uint8_t* data = reader_.data(*item.input);
                const uint64_t n = item.input->nbytes();
                uint64_t off = 0;
                do {
                    const uint64_t len = std::min(kChunk, n - off);
                    writer_.write(item.name, data + off, len);
                    off += len;
                } while (off < n);
                reader_.release(*item.input);
            } else {
                writer_.write(item.name, item.owned.data(), item.owned.size());
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            error_ = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            queued_bytes_ -= item.size();
            busy_ = false;
            keep_locked(item.owned);
        }
        cv_.notify_all();
    }
}

}  // namespace ctq
