#include "pipeline/staging_ring.hpp"

#include "core/error.hpp"

#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace ctq {

namespace {

// Pieces one thread reads: small enough that a 10 MB tensor still spreads over a few cores.
constexpr uint64_t kPiece = 2ull << 20;

// pread from the page cache costs no page faults on the mapping (the mapped copy costs one per
// few pages on first touch); CTQ_STAGING_READ=mmap selects the mapped copy, for comparison.
bool mapping_requested() {
    const char* v = std::getenv("CTQ_STAGING_READ");
    return v && std::string(v) == "mmap";
}

}  // namespace

StagingRing::StagingRing(const SafetensorsReader& reader, Alloc alloc, Free free)
    : reader_(reader), alloc_(std::move(alloc)), free_(std::move(free)), use_mapping_(mapping_requested()) {
    if (!use_mapping_) {
        // A second descriptor of the same file; when that cannot be had (or the file is no longer
        // the one mapped), the mapping the reader validated is read instead.
        fd_ = ::open(reader_.path().c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st{};
        if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != reader_.file_size())) {
            ::close(fd_);
            fd_ = -1;
        }
        use_mapping_ = fd_ < 0;
    }
    thread_ = std::thread([this] { run(); });
}

StagingRing::~StagingRing() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (Slot& s : slots_)
        if (s.data) free_(s.data);
    if (fd_ >= 0) ::close(fd_);
}

void StagingRing::expect(std::vector<const TensorInfo*> order) {
    std::lock_guard<std::mutex> lock(mu_);
    order_ = std::move(order);
    next_ = 0;
    largest_ = 0;
    for (const TensorInfo* t : order_) largest_ = std::max<size_t>(largest_, t->nbytes());
}

void StagingRing::reserve(Slot& s, size_t n) {
    if (n <= s.capacity) return;
    if (s.data) free_(s.data);
    s.data = nullptr;
    s.capacity = 0;
    const size_t size = std::max(n, largest_);  // once for the whole model when the order is known
    s.data = static_cast<uint8_t*>(alloc_(size));
    s.capacity = size;
}

void StagingRing::reserve_slots() {
    std::lock_guard<std::mutex> lock(mu_);
    for (Slot& s : slots_) reserve(s, largest_);
}

void StagingRing::read(const TensorInfo& t, uint8_t* dst) const {
    const uint64_t n = t.nbytes();
    const int64_t pieces = static_cast<int64_t>((n + kPiece - 1) / kPiece);
    const uint8_t* mapped = use_mapping_ ? reader_.data(t) : nullptr;
    const uint64_t at = 8 + reader_.header_size() + t.begin;  // the tensor's offset in the file
    kern::parallel_for(pieces, static_cast<int64_t>(kPiece), [&](int64_t b, int64_t e) {
        uint64_t off = static_cast<uint64_t>(b) * kPiece;
        const uint64_t to = std::min(static_cast<uint64_t>(e) * kPiece, n);
        if (mapped) {
            std::memcpy(dst + off, mapped + off, to - off);
            return;
        }
        while (off < to) {
            const ssize_t got = ::pread(fd_, dst + off, to - off, static_cast<off_t>(at + off));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail(reader_.path().string(), t.name, std::string("cannot read: ") + std::strerror(errno));
            if (got == 0)
                fail(reader_.path().string(), t.name, "the file ended early (was it changed while being read?)");
            off += static_cast<uint64_t>(got);
        }
    });
}

const uint8_t* StagingRing::take(const TensorInfo& t) {
    std::unique_lock<std::mutex> lock(mu_);
    int s = slots_[0].tensor == &t ? 0 : slots_[1].tensor == &t ? 1 : -1;
    if (s >= 0) {
        const auto start = std::chrono::steady_clock::now();
        cv_.wait(lock, [&] { return !slots_[s].filling; });
        waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++read_ahead_;
        if (std::exception_ptr e = std::exchange(slots_[s].error, nullptr)) {
            slots_[s].tensor = nullptr;
            std::rethrow_exception(e);
        }
    } else {
        // Not read ahead (the first tensor, or one the order did not list): wait until no read
        // is running, then read it here.
        cv_.wait(lock, [&] { return job_ < 0 && !slots_[0].filling && !slots_[1].filling; });
        s = 0;
        slots_[s].tensor = nullptr;
        reserve(slots_[s], t.nbytes());
        lock.unlock();
        read(t, slots_[s].data);
        lock.lock();
        slots_[s].tensor = &t;
    }

    const auto it = std::find(order_.begin() + static_cast<std::ptrdiff_t>(next_), order_.end(), &t);
    if (it != order_.end()) next_ = static_cast<size_t>(it - order_.begin()) + 1;
    if (next_ < order_.size()) {
        Slot& ahead = slots_[1 - s];  // idle: at most one read runs, and it was this tensor's
        ahead.tensor = nullptr;
        reserve(ahead, order_[next_]->nbytes());
        ahead.tensor = order_[next_++];
        ahead.filling = true;
        job_ = 1 - s;
        cv_.notify_all();
    }
    return slots_[s].data;
}

void StagingRing::run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || job_ >= 0; });
        if (stop_) return;
        Slot& s = slots_[job_];
        job_ = -1;
        lock.unlock();
        std::exception_ptr error;
        try {
            read(*s.tensor, s.data);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        s.error = error;
        s.filling = false;
        cv_.notify_all();
    }
}

}  // namespace ctq
