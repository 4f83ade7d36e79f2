// A tiny parallel-for over index ranges for the CPU twins: splits [0, n) into one contiguous
// chunk per worker thread (std::thread), runs small jobs inline. CTQ_THREADS overrides the
// thread count (1 = serial).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

namespace ctq::kern {

inline int worker_count() {
    static const int count = [] {
        if (const char* env = std::getenv("CTQ_THREADS")) {
            const int n = std::atoi(env);
            if (n > 0) return n;
        }
        const unsigned hw = std::thread::hardware_concurrency();
        return hw == 0 ? 1 : static_cast<int>(std::min(hw, 64u));
    }();
    return count;
}

// Calls fn(begin, end) on disjoint chunks covering [0, n). `cost_per_index` is the number of
// elements one index stands for (e.g. a row's width): chunks below ~256K elements are not
// worth a thread. The first exception thrown by any chunk is rethrown after all have joined.
template <class Fn>
void parallel_for(int64_t n, int64_t cost_per_index, Fn&& fn) {
    constexpr int64_t kMinElementsPerThread = int64_t(1) << 18;
    const int64_t cost = std::max<int64_t>(cost_per_index, 1);
    const int64_t by_work = std::max<int64_t>((n * cost) / kMinElementsPerThread, 1);
    const int64_t threads = std::min<int64_t>({int64_t(worker_count()), by_work, n});
    if (threads <= 1) {
        if (n > 0) fn(int64_t(0), n);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
    pool.reserve(static_cast<size_t>(threads - 1));
    auto run = [&](int64_t t) {
        const int64_t begin = n * t / threads, end = n * (t + 1) / threads;
        try {
            fn(begin, end);
        } catch (...) {
            errors[static_cast<size_t>(t)] = std::current_exception();
        }
    };
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace ctq::kern
