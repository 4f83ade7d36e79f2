#include "pipeline/cuda_startup.hpp"

#include "core/error.hpp"

#include <future>
#include <mutex>
#include <string>

#ifdef CTQ_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace ctq {

namespace {

struct Startup {
    std::mutex mu;
    int device = -1;
    std::shared_future<void> done;
};

Startup& startup() {
    static Startup s;  // its future's destructor waits for a start still running at exit
    return s;
}

#ifdef CTQ_HAVE_CUDA
void initialise(int device) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
        throw CtqError("--device cuda: no CUDA device is available on this machine");
    if (device >= count)
        throw CtqError("--device cuda:" + std::to_string(device) + ": this machine has " + std::to_string(count) +
                       " CUDA device(s)");
    cudaError_t s = cudaSetDevice(device);
    if (s == cudaSuccess) s = cudaFree(nullptr);  // creates the device's primary context now
    if (s != cudaSuccess)
        throw CtqError("--device cuda:" + std::to_string(device) + ": cannot initialise CUDA: " +
                       cudaGetErrorString(s));
}
#else
void initialise(int) { throw CtqError("--device cuda: this ctq was built without CUDA"); }
#endif

// The future of the device's start, starting it if needed.
std::shared_future<void> started(int device) {
    Startup& s = startup();
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.device != device || !s.done.valid()) {
        s.device = device;
        s.done = std::async(std::launch::async, initialise, device).share();
    }
    return s.done;
}

}  // namespace

void start_cuda(int device) {
#ifdef CTQ_HAVE_CUDA
    if (device >= 0) started(device);
#else
    (void)device;
#endif
}

void wait_cuda(int device) { started(device).get(); }  // rethrows the start's error

unsigned long long cuda_free_bytes(int device) {
#ifdef CTQ_HAVE_CUDA
    wait_cuda(device);
    size_t free = 0, total = 0;
    if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
    return free;
#else
    (void)device;
    return 0;
#endif
}

void finish_cuda_start() noexcept {
    Startup& s = startup();
    std::shared_future<void> done;
    {
        std::lock_guard<std::mutex> lock(s.mu);
        done = s.done;
    }
    if (done.valid()) done.wait();
}

bool cuda_started() noexcept {
    Startup& s = startup();
    std::lock_guard<std::mutex> lock(s.mu);
    return s.done.valid();
}

}  // namespace ctq
