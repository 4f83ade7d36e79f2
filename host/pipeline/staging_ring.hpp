// Reads the stored bytes of upcoming GPU layers from the input file into two staging slots
// (pinned memory on the GPU path), one tensor ahead on a thread of its own: while the device
// works on tensor i, tensor i+1 is being read. Each read is split over several threads, as one
// core's copy from the page cache is slower than the copy to the device.
#pragma once

#include "io/safetensors_reader.hpp"

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ctq {

class StagingRing {
public:
    using Alloc = std::function<void*(size_t)>;  // staging memory (e.g. cudaMallocHost)
    using Free = std::function<void(void*)>;

    StagingRing(const SafetensorsReader& reader, Alloc alloc, Free free);
    ~StagingRing();
    StagingRing(const StagingRing&) = delete;
    StagingRing& operator=(const StagingRing&) = delete;

    // The tensors take() will be asked for, in this order (pointers into the reader's list).
    void expect(std::vector<const TensorInfo*> order);

    // Allocates both slots for the largest expected tensor now, on the calling thread (e.g. one
    // preparing the device in the background), before the first take().
    void reserve_slots();

    // t's stored bytes in staging memory, valid until the next take(). Waits for t when it is
    // being read ahead, reads it now otherwise; then starts reading the tensor expected after t.
    // Allocation runs on the calling thread (the one that owns the device context).
    const uint8_t* take(const TensorInfo& t);

    double seconds_waited() const { return waited_; }  // take() blocked on reads
    size_t tensors_read_ahead() const { return read_ahead_; }

private:
    struct Slot {
        uint8_t* data = nullptr;
        size_t capacity = 0;
        const TensorInfo* tensor = nullptr;  // what it holds or is being filled with
        bool filling = false;
        std::exception_ptr error;
    };
    const SafetensorsReader& reader_;
    Alloc alloc_;
    Free free_;
    int fd_ = -1;
    bool use_mapping_ = false;  // CTQ_STAGING_READ=mmap: memcpy from the mapping instead of pread
    std::vector<const TensorInfo*> order_;
    size_t next_ = 0;     // order_ index of the tensor to read ahead after the current take
    size_t largest_ = 0;  // bytes of the largest expected tensor: slots are sized once
    Slot slots_[2];
    double waited_ = 0;
    size_t read_ahead_ = 0;

    std::mutex mu_;
    std::condition_variable cv_;
    int job_ = -1;  // slot the reading thread is to fill
    bool stop_ = false;
    std::thread thread_;

    void reserve(Slot& s, size_t n);
    void read(const TensorInfo& t, uint8_t* dst) const;
    void run();
};

}  // namespace ctq
