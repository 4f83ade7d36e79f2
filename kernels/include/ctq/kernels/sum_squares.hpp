// The sum of squares of n floats in FP64, in one pass and a fixed order: the learned-rounding
// search reads ||E||^2 and ||P||^2 from it (host/engine/sum_squares.cpp) on CUDA.
//
// Why: LibTorch's to(double).pow(2).sum() is three kernels and two FP64 temporaries (36 bytes
// moved an element against 4), and the search runs it on P every round.
// The order: quad q (elements 4q..4q+3) belongs to lane q mod kSumSquaresLanes, which adds its
// quads' squares in ascending order; each block of kSumSquaresThreads lanes then adds pairwise in
// a fixed tree, and one block adds the kSumSquaresBlocks partial sums the same way. A float's
// square is exact in FP64, so a fused multiply-add changes no bit, and the CPU twin here gives
// the CUDA kernel's bits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ctq::kern {

constexpr int kSumSquaresThreads = 256;  // lanes a block
constexpr int kSumSquaresBlocks = 1024;  // enough lanes to keep an H200's memory busy
constexpr int64_t kSumSquaresLanes = int64_t(kSumSquaresThreads) * kSumSquaresBlocks;

double sum_squares_cpu(const float* x, int64_t n);

// Device scratch that sum_squares_cuda needs, in bytes.
size_t sum_squares_scratch_bytes();
// Writes the sum of squares of x[0, n) to *out_device (a double on the device), on `stream`; no wait.
void sum_squares_cuda(const float* x, int64_t n, double* out_device, void* scratch, void* stream);

}  // namespace ctq::kern
