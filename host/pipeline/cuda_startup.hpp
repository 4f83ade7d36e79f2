// Creating a CUDA context costs ~0.2-0.3 s. It runs on a thread of its own from the moment the
// options say --device cuda, while the input is opened and planned and the first layers are
// quantized on the CPU; the GPU path joins it when it first needs the device.
#pragma once

namespace ctq {

// Starts initialising CUDA device `device` in the background; does nothing when it has already
// been started for that device, when device < 0 (the CPU), or when CUDA is not compiled in.
void start_cuda(int device);

// Blocks until the device is ready for this process (the calling thread still has to make it
// its current device). Throws CtqError when initialisation failed (no device, bad index, driver).
void wait_cuda(int device);

// Free memory on the device (bytes), after waiting for its start; 0 without CUDA.
unsigned long long cuda_free_bytes(int device);

// Waits for a start still running, ignoring its errors: the CUDA runtime is torn down at exit,
// which must not happen under a thread still initialising it (e.g. when the input is refused).
void finish_cuda_start() noexcept;

// Whether start_cuda() has been called for some device in this process.
bool cuda_started() noexcept;

}  // namespace ctq
