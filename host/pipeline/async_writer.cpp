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
        }
        cv_.notify_all();
    }
}

}  // namespace ctq
