// The k-th smallest of n floats, exactly: the learned-rounding search reads its cut for the
// candidates of a round off a strided sample of ~1M scores (host/engine/flip_search.cpp).
//
// Why not top-k: only the one value is needed, and LibTorch's CUDA top-k of 1M floats took
// ~0.16 ms a round (four radix passes of several kernels each plus sorting what it returns).
// Here: a radix select over order-preserving 32-bit keys, 8 bits a pass, one histogram kernel
// and one single-block pick kernel a pass, no wait for the device. The CPU twin selects on the
// same keys, so both return the same bits (also for -0.0 against +0.0); NaN sorts above +inf.
#pragma once

#include <ctq/kernels/hd.hpp>

#include <cstddef>
#include <cstdint>

namespace ctq::kern {

// Unsigned keys in the order of the floats: negative floats have all bits flipped, the others
// their sign bit set.
CTQ_HD uint32_t float_order_key(uint32_t bits) { return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u; }
CTQ_HD uint32_t float_from_order_key(uint32_t key) { return (key & 0x80000000u) ? key & 0x7fffffffu : ~key; }

// k is 1-based: k = 1 is the minimum. Requires 1 <= k <= n.
float kth_smallest_cpu(const float* x, int64_t n, int64_t k);

// Device scratch that kth_smallest_cuda needs (histogram and state), in bytes.
size_t kth_smallest_scratch_bytes();
// Writes the k-th smallest of x[0, n) to *out_device (a float on the device), on `stream`.
void kth_smallest_cuda(const float* x, int64_t n, int64_t k, float* out_device, void* scratch, void* stream);

}  // namespace ctq::kern
