// Writes output tensors on a thread of its own, in plan order, so computing tensor i+1 overlaps
// writing tensor i. The queue is bounded in bytes: peak memory stays at a few tensors. An error
// on the writing thread is rethrown to the producer at its next call.
#pragma once

#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ctq {

class AsyncWriter {
public:
    AsyncWriter(SafetensorsWriter& writer, const SafetensorsReader& reader, uint64_t max_bytes_in_flight);
    ~AsyncWriter();  // stops the thread; does not commit
    AsyncWriter(const AsyncWriter&) = delete;
    AsyncWriter& operator=(const AsyncWriter&) = delete;

    void push(std::string name, std::vector<uint8_t> bytes);
    // Bytes of an input tensor, written straight from the mapping, then released.
    void push_input(const TensorInfo& info);
    // Waits until everything queued is written (rethrowing a writer error).
    void drain();

    // From now on, owned buffers once written are kept (up to the in-flight bound in bytes)
    // for reuse() instead of being freed: a fresh multi-MB buffer per layer costs page faults
    // and zero-filling on the producing thread.
    void keep_written();
    // A buffer of n bytes with unspecified contents: a kept one when one is large enough,
    // else a new one.
    std::vector<uint8_t> reuse(size_t n);

private:
    struct Item {
        std::string name;
        std::vector<uint8_t> owned;
        const TensorInfo* input = nullptr;
        uint64_t size() const { return input ? 0 : owned.size(); }  // mapped bytes cost no memory
    };
    SafetensorsWriter& writer_;
    const SafetensorsReader& reader_;
    const uint64_t max_bytes_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    uint64_t queued_bytes_ = 0;
    bool keep_written_ = false;
    std::vector<std::vector<uint8_t>> kept_;
    uint64_t kept_bytes_ = 0;
    bool busy_ = false, stop_ = false;
    std::exception_ptr error_;
    std::thread thread_;

    void enqueue(Item item);
    void run();
    void rethrow_locked();
    void keep_locked(std::vector<uint8_t>& bytes);
};

}  // namespace ctq
