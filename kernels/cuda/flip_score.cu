// CUDA twins of the flip-score CPU loops (kernels/cpu/flip_score.cpp): the element functions of
// ctq/kernels/flip_score.hpp over grid-stride loops, so the same bits as on the CPU.
#include <ctq/kernels/flip_score.hpp>

#include "int8_cuda_check.cuh"

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;

__global__ void scores_kernel(FlipScoreInputs in, int64_t stride, int64_t count, float budget_left, float* out) {
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < count; j += int64_t(gridDim.x) * blockDim.x) {
        float dfull;
        const float s = flip_score(in, j * stride, &dfull);
        out[j] = dfull > budget_left ? 0.0f : s;
    }
}

__global__ void scores_at_kernel(FlipScoreInputs in, const int64_t* idx, int64_t count, float* out) {
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < count; j += int64_t(gridDim.x) * blockDim.x) {
        float dfull;
        out[j] = flip_score(in, idx[j], &dfull);
    }
}

// One pass; a warp claims room for its hits with one atomic (the order across warps is the
// atomics', which is why the caller sorts).
__global__ void select_kernel(FlipScoreInputs in, float cut, float budget_left, int64_t* out, int64_t capacity,
                              unsigned long long* found) {
    const int64_t n = in.rows * in.cols;
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int lane = threadIdx.x & 31;
    // Every lane of a warp runs the same number of iterations, so __ballot_sync sees them all.
    const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x - lane;
    for (int64_t base = first; base < n; base += step) {
        const int64_t i = base + lane;
        bool hit = false;
        if (i < n) {
            float dfull;
            const float s = flip_score(in, i, &dfull);
            hit = s <= cut && dfull <= budget_left;
        }
        const unsigned mask = __ballot_sync(0xffffffffu, hit);
        if (mask == 0) continue;
        unsigned long long slot = 0;
        if (lane == 0) slot = atomicAdd(found, static_cast<unsigned long long>(__popc(mask)));
        slot = __shfl_sync(0xffffffffu, slot, 0);
        if (hit) {
            const unsigned long long at = slot + __popc(mask & ((1u << lane) - 1u));
            if (at < static_cast<unsigned long long>(capacity)) out[at] = i;
        }
    }
}

}  // namespace

void flip_scores_cuda(const FlipScoreInputs& in, int64_t stride, int64_t count, float budget_left, float* out,
                      void* stream) {
    if (count <= 0) return;
    scores_kernel<<<int8_grid_for(count, kThreads), kThreads, 0, int8_stream(stream)>>>(in, stride, count,
                                                                                       budget_left, out);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void flip_scores_at_cuda(const FlipScoreInputs& in, const int64_t* idx, int64_t count, float* out, void* stream) {
    if (count <= 0) return;
    scores_at_kernel<<<int8_grid_for(count, kThreads), kThreads, 0, int8_stream(stream)>>>(in, idx, count, out);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void flip_select_cuda(const FlipScoreInputs& in, float cut, float budget_left, int64_t* out, int64_t capacity,
                      int64_t* found_device, void* stream) {
    const cudaStream_t s = int8_stream(stream);
    CTQ_INT8_CUDA(cudaMemsetAsync(found_device, 0, sizeof(int64_t), s));
    const int64_t n = in.rows * in.cols;
    if (n <= 0) return;
    // Enough blocks to fill an H100 several times over; each thread then loops.
    const unsigned blocks = int8_grid_for(std::min<int64_t>(n, int64_t(132) * 16 * kThreads), kThreads);
    select_kernel<<<blocks, kThreads, 0, s>>>(in, cut, budget_left, out, capacity,
                                              reinterpret_cast<unsigned long long*>(found_device));
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
