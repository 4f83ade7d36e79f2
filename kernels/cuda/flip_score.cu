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
        const float s = flip_score(in, flip_sample_index(j, stride), &dfull);
        out[j] = dfull > budget_left ? 0.0f : s;
    }
}

__global__ void scores_at_kernel(FlipScoreInputs in, const int64_t* idx, int64_t count, float* out) {
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < count; j += int64_t(gridDim.x) * blockDim.x) {
        float dfull;
        out[j] = flip_score(in, idx[j], &dfull);
    }
}

__global__ void rank_keys_kernel(FlipScoreInputs in, const int64_t* idx, int64_t count, const int64_t* valid,
                                 int64_t* keys) {
    const int64_t real = valid ? *valid : count;
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < count; j += int64_t(gridDim.x) * blockDim.x) {
        float dfull;
        keys[j] = j < real ? flip_rank_key(flip_score(in, idx[j], &dfull), idx[j]) : kFlipRankNone;
    }
}

// One pass; a warp claims room for its hits with one atomic (the order across warps is the
// atomics', which is why the caller ranks by key).
__global__ void select_kernel(FlipScoreInputs in, const float* cut_device, float budget_left, int64_t* out,
                              int64_t capacity, unsigned long long* found) {
    const float cut = *cut_device;
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

// Four neighbours per thread, in 16-byte (8 for BF16 G) loads: one element per thread kept too
// few bytes in flight to reach the memory's bandwidth (H200: ~2 TB/s of 4.8), and this pass
// reads every element of the layer every round. Same element function, so the same hits.
__device__ unsigned quad_hits(const FlipScoreInputs& in, int64_t q, int64_t quads_per_row, float cut,
                              float budget_left) {
    const float4 d = reinterpret_cast<const float4*>(in.delta)[q];
    const float4 e = reinterpret_cast<const float4*>(in.err)[q];
    const uint2 g = reinterpret_cast<const uint2*>(in.g)[q];  // little-endian: element 0 in the low half
    const int64_t row = q / quads_per_row;
    const float ru = in.row_norm2[row];
    const float4 rv = reinterpret_cast<const float4*>(in.col_norm2)[q - row * quads_per_row];
    const float dv[4] = {d.x, d.y, d.z, d.w}, ev[4] = {e.x, e.y, e.z, e.w}, rvv[4] = {rv.x, rv.y, rv.z, rv.w};
    const uint16_t gv[4] = {uint16_t(g.x), uint16_t(g.x >> 16), uint16_t(g.y), uint16_t(g.y >> 16)};
    unsigned hits = 0;
#pragma unroll
    for (int b = 0; b < 4; ++b) {
        float dfull;
        const float s = flip_score_of(in, dv[b], ev[b], bf16_to_f32(gv[b]), ru, rvv[b], &dfull);
        hits |= unsigned(s <= cut && dfull <= budget_left) << b;
    }
    return hits;
}

__global__ void select4_kernel(FlipScoreInputs in, const float* cut_device, float budget_left, int64_t* out,
                               int64_t capacity, unsigned long long* found) {
    const float cut = *cut_device;
    const int64_t quads = in.rows * in.cols / 4, quads_per_row = in.cols / 4;
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int lane = threadIdx.x & 31;
    const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x - lane;
    for (int64_t base = first; base < quads; base += step) {
        const int64_t q = base + lane;
        const unsigned hits = q < quads ? quad_hits(in, q, quads_per_row, cut, budget_left) : 0u;
        if (__ballot_sync(0xffffffffu, hits != 0) == 0) continue;
        // The warp's hits take consecutive slots: an inclusive scan of the lanes' counts.
        const int count = __popc(hits);
        int upto = count;
        for (int o = 1; o < 32; o <<= 1) {
            const int v = __shfl_up_sync(0xffffffffu, upto, o);
            if (lane >= o) upto += v;
        }
        unsigned long long slot = 0;
        if (lane == 31) slot = atomicAdd(found, static_cast<unsigned long long>(upto));
        slot = __shfl_sync(0xffffffffu, slot, 31) + static_cast<unsigned long long>(upto - count);
        for (int b = 0; b < 4; ++b) {
            if (!(hits >> b & 1u)) continue;
            if (slot < static_cast<unsigned long long>(capacity)) out[slot] = 4 * q + b;
            ++slot;
        }
    }
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Whole quads of one row, 16-byte aligned F32 and 8-byte aligned BF16: what select4_kernel loads.
bool quads_fit(const FlipScoreInputs& in) {
    return in.g_bf16 && in.cols % 4 == 0 && aligned(in.g, 8) && aligned(in.delta, 16) && aligned(in.err, 16) &&
           aligned(in.col_norm2, 16);
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

void flip_rank_keys_cuda(const FlipScoreInputs& in, const int64_t* idx, int64_t count, const int64_t* valid,
                         int64_t* keys, void* stream) {
    if (count <= 0) return;
    rank_keys_kernel<<<int8_grid_for(count, kThreads), kThreads, 0, int8_stream(stream)>>>(in, idx, count, valid,
                                                                                          keys);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void flip_select_cuda(const FlipScoreInputs& in, const float* cut_device, float budget_left, int64_t* out,
                      int64_t capacity, int64_t* found_device, void* stream) {
    const cudaStream_t s = int8_stream(stream);
    CTQ_INT8_CUDA(cudaMemsetAsync(found_device, 0, sizeof(int64_t), s));
    const int64_t n = in.rows * in.cols;
    if (n <= 0) return;
    // Enough blocks to fill an H100 several times over; each thread then loops.
    auto* found = reinterpret_cast<unsigned long long*>(found_device);
    if (quads_fit(in)) {
        const unsigned blocks = int8_grid_for(std::min<int64_t>(n / 4, int64_t(132) * 8 * kThreads), kThreads);
        select4_kernel<<<blocks, kThreads, 0, s>>>(in, cut_device, budget_left, out, capacity, found);
    } else {
        const unsigned blocks = int8_grid_for(std::min<int64_t>(n, int64_t(132) * 16 * kThreads), kThreads);
        select_kernel<<<blocks, kThreads, 0, s>>>(in, cut_device, budget_left, out, capacity, found);
    }
    CTQ_INT8_CUDA(cudaGetLastError());
}

}  // namespace ctq::kern
