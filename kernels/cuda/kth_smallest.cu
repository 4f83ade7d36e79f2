// Radix select on the device (ctq/kernels/kth_smallest.hpp): four passes over the keys, 8 bits
// each from the top. A pass counts, among the keys that share the prefix fixed so far, how many
// fall in each of the 256 values of the next byte; a prefix sum over the counts then finds the
// byte that holds the k-th key and narrows k. Exact, deterministic (counts only), no host round trip.
#include <ctq/kernels/kth_smallest.hpp>

#include "int8_cuda_check.cuh"

#include <algorithm>
#include <stdexcept>

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;
constexpr int kBins = 256;

struct SelectState {
    unsigned long long hist[kBins];
    unsigned long long remaining;  // rank of the wanted key among those matching the prefix
    unsigned int prefix;           // the key's bits fixed so far
};

__global__ void histogram_kernel(const float* x, int64_t n, int shift, SelectState* st) {
    __shared__ unsigned int local[kBins];
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) local[b] = 0;
    __syncthreads();
    // The bits above this pass's byte must equal the prefix (none on the first pass).
    const unsigned int high_mask = shift == 24 ? 0u : ~0u << (shift + 8);
    const unsigned int prefix = st->prefix & high_mask;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const unsigned int key = float_order_key(__float_as_uint(x[i]));
        if ((key & high_mask) == prefix) atomicAdd(&local[(key >> shift) & 0xffu], 1u);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < kBins; b += blockDim.x)
        if (local[b]) atomicAdd(&st->hist[b], static_cast<unsigned long long>(local[b]));
}

// One block of kBins threads: a prefix sum over the counts finds the byte that holds the wanted
// key (the one bin whose running count first reaches it); the counts are cleared for the next pass.
__global__ void pick_kernel(SelectState* st, int shift, unsigned long long k, float* out) {
    __shared__ unsigned long long incl[kBins];
    const int b = threadIdx.x;
    const unsigned long long want = shift == 24 ? k : st->remaining;
    const unsigned long long count = st->hist[b];
    incl[b] = count;
    __syncthreads();
    for (int step = 1; step < kBins; step <<= 1) {
        const unsigned long long add = b >= step ? incl[b - step] : 0;
        __syncthreads();
        incl[b] += add;
        __syncthreads();
    }
    const unsigned long long before = incl[b] - count;
    st->hist[b] = 0;
    if (before < want && incl[b] >= want) {
        st->remaining = want - before;
        const unsigned int prefix = (shift == 24 ? 0u : st->prefix) | (static_cast<unsigned int>(b) << shift);
        st->prefix = prefix;
        if (shift == 0) *out = __uint_as_float(float_from_order_key(prefix));
    }
}

}  // namespace

size_t kth_smallest_scratch_bytes() { return sizeof(SelectState); }

void kth_smallest_cuda(const float* x, int64_t n, int64_t k, float* out_device, void* scratch, void* stream) {
    if (k < 1 || k > n) throw std::invalid_argument("kth_smallest: k must lie in [1, n]");
    const cudaStream_t s = int8_stream(stream);
    auto* st = static_cast<SelectState*>(scratch);
    CTQ_INT8_CUDA(cudaMemsetAsync(st, 0, sizeof(SelectState), s));
    const unsigned blocks = int8_grid_for(std::min<int64_t>(n, int64_t(132) * 4 * kThreads), kThreads);
    for (int shift = 24; shift >= 0; shift -= 8) {
        histogram_kernel<<<blocks, kThreads, 0, s>>>(x, n, shift, st);
        pick_kernel<<<1, kBins, 0, s>>>(st, shift, static_cast<unsigned long long>(k), out_device);
    }
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
