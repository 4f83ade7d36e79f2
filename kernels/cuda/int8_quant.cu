// CUDA kernels of the INT8 weight quantization; CPU twins in kernels/cpu/int8_quant.cpp. Every
// reduction is a max of non-negative floats (order-free, exact), and the per-element maths is
// the shared CTQ_HD code of ctq/kernels/int8.hpp, so results equal the CPU bit for bit.
#include <ctq/kernels/int8.hpp>

#include "int8_cuda_check.cuh"

#include <climits>
#include <cstdint>
#include <stdexcept>

namespace ctq::kern {
namespace {

using detail::int8_grid_for;
using detail::int8_stream;

constexpr int kThreads = 256;

__device__ float block_max(float v) {
    __shared__ float warp_max[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_max[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x + 31) / 32 ? warp_max[lane] : 0.f;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;  // valid in thread 0
}

struct NonFiniteDev {
    unsigned long long count;
    unsigned long long first;
};

__global__ void scan_non_finite_kernel(const float* w, int64_t n, NonFiniteDev* out) {
    unsigned long long count = 0, first = ULLONG_MAX;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        if (isfinite(w[i])) continue;
        if (count++ == 0) first = static_cast<unsigned long long>(i);
    }
    if (count != 0) {
        atomicAdd(&out->count, count);
        atomicMin(&out->first, first);
    }
}

// One CTA reduces `slice_rows` rows of one tile and merges into amax[tile] (as uint bits: the
// order of non-negative floats equals the order of their bit patterns). A slice holds at most
// ~64K elements, so its flat index and the division by the tile width stay 32-bit.
__global__ void tile_amax_kernel(const float* w, Int8Tiling t, int64_t slice_rows, float* amax) {
    const int64_t tile = blockIdx.x;
    const int64_t tr = tile / t.grid_cols(), tc = tile % t.grid_cols();
    const int64_t r0 = tr * t.tile_rows + blockIdx.y * slice_rows;
    const int64_t r1 = min(min(r0 + slice_rows, (tr + 1) * t.tile_rows), t.rows);
    const int64_t c0 = tc * t.tile_cols;
    const int width = static_cast<int>(min(t.tile_cols, t.cols - c0));
    float m = 0.f;
    if (r0 < r1) {
        const float* base = w + r0 * t.cols + c0;
        const int n = static_cast<int>(r1 - r0) * width;
        for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, fabsf(base[(i / width) * t.cols + i % width]));
    }
    m = block_max(m);
    if (threadIdx.x == 0 && m > 0.f)
        atomicMax(reinterpret_cast<unsigned int*>(amax) + tile, __float_as_uint(m));
}

__global__ void tile_scales_kernel(Int8Mode mode, const float* amax, int64_t count, float* apply,
                                   float* stored) {
    __shared__ float total;
    float m = 0.f;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) m = fmaxf(m, amax[i]);
    m = block_max(m);
    if (threadIdx.x == 0) total = m;
    __syncthreads();
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
        const Int8TileScale s = total == 0.f ? int8_zero_weight_scale() : int8_tile_scale(mode, amax[i]);
        apply[i] = s.apply;
        stored[i] = s.stored;
    }
}

// Rows are grid-strided over CTAs, columns over threads; the tile column is a 32-bit division
// (int8_tiling keeps cols < 2^31 in practice: checked by the host functions below).
__global__ void encode_kernel(Int8Mode mode, const float* w, Int8Tiling t, const float* apply,
                              int8_t* q) {
    const int cols = static_cast<int>(t.cols), tile_cols = static_cast<int>(t.tile_cols);
    for (int64_t r = blockIdx.x; r < t.rows; r += gridDim.x) {
        const float* tile_row = apply + (r / t.tile_rows) * t.grid_cols();
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            q[r * cols + c] = int8_encode(mode, w[r * cols + c], tile_row[c / tile_cols]);
    }
}

__global__ void decode_kernel(const int8_t* q, Int8Tiling t, const float* stored, float* w) {
    const int cols = static_cast<int>(t.cols), tile_cols = static_cast<int>(t.tile_cols);
    for (int64_t r = blockIdx.x; r < t.rows; r += gridDim.x) {
        const float* tile_row = stored + (r / t.tile_rows) * t.grid_cols();
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            w[r * cols + c] = int8_decode(q[r * cols + c], tile_row[c / tile_cols]);
    }
}

unsigned int row_grid(int64_t rows) { return static_cast<unsigned int>(rows < 65535 * 8 ? rows : 65535 * 8); }

void check_cols(const Int8Tiling& t) {
    if (t.cols > INT32_MAX / 2)
        throw std::invalid_argument("int8 CUDA kernels: rows of more than 2^30 elements");
}

__global__ void fill_kernel(float* dst, int64_t n, float value) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = value;
}

}  // namespace

void int8_fill_cuda(float* dst, int64_t n, float value, void* stream) {
    if (n == 0) return;
    fill_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, int8_stream(stream)>>>(dst, n, value);
    CTQ_INT8_CUDA(cudaGetLastError());
}

Int8NonFinite int8_scan_non_finite_cuda(const float* w, int64_t n, void* stream) {
    cudaStream_t s = int8_stream(stream);
    NonFiniteDev* dev = nullptr;
    const NonFiniteDev init{0, ULLONG_MAX};
    NonFiniteDev host{};
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&dev), sizeof(NonFiniteDev), s));
    CTQ_INT8_CUDA(cudaMemcpyAsync(dev, &init, sizeof init, cudaMemcpyHostToDevice, s));
    if (n > 0) scan_non_finite_kernel<<<int8_grid_for(n, kThreads), kThreads, 0, s>>>(w, n, dev);
    CTQ_INT8_CUDA(cudaGetLastError());
    CTQ_INT8_CUDA(cudaMemcpyAsync(&host, dev, sizeof host, cudaMemcpyDeviceToHost, s));
    CTQ_INT8_CUDA(cudaFreeAsync(dev, s));
    CTQ_INT8_CUDA(cudaStreamSynchronize(s));
    Int8NonFinite r;
    r.count = static_cast<int64_t>(host.count);
    r.first = host.count ? static_cast<int64_t>(host.first) : -1;
    return r;
}

void int8_tile_amax_cuda(const float* w, const Int8Tiling& t, float* amax, void* stream) {
    cudaStream_t s = int8_stream(stream);
    CTQ_INT8_CUDA(cudaMemsetAsync(amax, 0, sizeof(float) * t.count(), s));
    if (t.rows == 0 || t.cols == 0) return;
    // About 32K elements per CTA; at most 65535 slices per tile.
    const int64_t width = t.tile_cols < t.cols ? t.tile_cols : t.cols;
    const int64_t height = t.tile_rows < t.rows ? t.tile_rows : t.rows;
    int64_t slice_rows = (32768 + width - 1) / width;
    if ((height + slice_rows - 1) / slice_rows > 65535) slice_rows = (height + 65534) / 65535;
    const dim3 grid(static_cast<unsigned int>(t.count()),
                    static_cast<unsigned int>((height + slice_rows - 1) / slice_rows));
    tile_amax_kernel<<<grid, kThreads, 0, s>>>(w, t, slice_rows, amax);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void int8_tile_scales_cuda(Int8Mode mode, const float* amax, int64_t count, float* apply,
                           float* stored, void* stream) {
    tile_scales_kernel<<<1, 1024, 0, int8_stream(stream)>>>(mode, amax, count, apply, stored);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void int8_encode_cuda(Int8Mode mode, const float* w, const Int8Tiling& t, const float* apply,
                      int8_t* q, void* stream) {
    if (t.rows == 0 || t.cols == 0) return;
    check_cols(t);
    encode_kernel<<<row_grid(t.rows), kThreads, 0, int8_stream(stream)>>>(mode, w, t, apply, q);
    CTQ_INT8_CUDA(cudaGetLastError());
}

void int8_decode_cuda(const int8_t* q, const Int8Tiling& t, const float* stored, float* w,
                      void* stream) {
    if (t.rows == 0 || t.cols == 0) return;
    check_cols(t);
    decode_kernel<<<row_grid(t.rows), kThreads, 0, int8_stream(stream)>>>(q, t, stored, w);
    CTQ_INT8_CUDA(cudaGetLastError());
}

Int8NonFinite int8_quantize_cuda(Int8Mode mode, const float* w, const Int8Tiling& t, int8_t* q,
                                 float* stored, void* stream) {
    const Int8NonFinite bad = int8_scan_non_finite_cuda(w, t.rows * t.cols, stream);
    if (bad.count != 0) return bad;
    cudaStream_t s = int8_stream(stream);
    float *amax = nullptr, *apply = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&amax), sizeof(float) * t.count(), s));
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&apply), sizeof(float) * t.count(), s));
    int8_tile_amax_cuda(w, t, amax, stream);
    int8_tile_scales_cuda(mode, amax, t.count(), apply, stored, stream);
    int8_encode_cuda(mode, w, t, apply, q, stream);
    CTQ_INT8_CUDA(cudaFreeAsync(amax, s));
    CTQ_INT8_CUDA(cudaFreeAsync(apply, s));
    CTQ_INT8_CUDA(cudaStreamSynchronize(s));
    return bad;
}

}  // namespace ctq::kern
