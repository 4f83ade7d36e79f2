// CUDA INT8 block GEMM; CPU twin in kernels/cpu/int8_gemm.cpp, op order in
// ctq/kernels/int8_gemm.hpp. Plan: quantize x into int8 with every K block padded to a multiple
// of 16 bytes (zeros), re-lay W codes the same way, then a tiled dp4a GEMM: 64x64 outputs per
// CTA, 256 threads x 4x4 outputs, 64-byte K chunks staged in shared memory with 16-byte loads.
// Padding contributes 0 to the int32 sums, so any block size works and the sums are exact.
#include <ctq/kernels/int8_gemm.hpp>

#include "int8_cuda_check.cuh"

#include <stdexcept>

namespace ctq::kern {
namespace {

using detail::int8_stream;

constexpr int kTile = 64;       // outputs per CTA along tokens and along N
constexpr int kChunk = 64;      // K bytes per shared-memory stage
constexpr int kRowWords = 20;   // 16 words of data + 4 of padding (keeps 16-byte alignment)

int64_t padded_block(int64_t bs) { return (bs + 15) / 16 * 16; }

__device__ float warp_block_max(float v) {
    __shared__ float warp_max[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_max[warp] = v;
    __syncthreads();
    v = lane < (blockDim.x + 31) / 32 ? warp_max[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;  // every thread
}

// One CTA per (token, K block). Element k of block kb goes to out + t*row_stride + kb*pitch + k-k0;
// the pitch tail (pitch > block) is zero-filled.
__global__ void act_quant_kernel(const float* x, Int8LinearShape s, int8_t* out, int64_t row_stride,
                                 int64_t pitch, float* xs) {
    const int64_t nkb = s.k_blocks();
    const int64_t t = blockIdx.x / nkb, kb = blockIdx.x % nkb;
    const int64_t k0 = kb * s.block, k1 = min(s.in_features, k0 + s.block);
    const float* src = x + t * s.in_features;
    float m = 0.f;
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) m = fmaxf(m, fabsf(src[k]));
    const float d = int8_act_block_scale(warp_block_max(m));
    if (threadIdx.x == 0) xs[t * nkb + kb] = d;
    int8_t* dst = out + t * row_stride + kb * pitch;
    for (int64_t i = threadIdx.x; i < pitch; i += blockDim.x)
        dst[i] = k0 + i < k1 ? int8_act_encode(src[k0 + i], d) : int8_t{0};
}

__global__ void pack_weight_kernel(const int8_t* w, Int8LinearShape s, int8_t* out, int64_t pitch) {
    const int64_t nkb = s.k_blocks(), row_stride = nkb * pitch;
    const int64_t total = s.out_features * row_stride;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / row_stride, kb = (i % row_stride) / pitch, j = i % pitch;
        const int64_t k = kb * s.block + j;
        out[i] = (j < s.block && k < s.in_features) ? w[n * s.in_features + k] : int8_t{0};
    }
}

// Loads a 64-row x 64-byte chunk (rows beyond `rows` and bytes beyond `width` as zeros).
__device__ void load_chunk(int (*tile)[kRowWords], const int8_t* base, int64_t row0, int64_t rows,
                           int64_t row_stride, int width) {
    const int r = threadIdx.x / 4, seg = threadIdx.x % 4;
    int4 v = make_int4(0, 0, 0, 0);
    if (row0 + r < rows && seg * 16 < width)
        v = *reinterpret_cast<const int4*>(base + (row0 + r) * row_stride + seg * 16);
    *reinterpret_cast<int4*>(&tile[r][seg * 4]) = v;
}

__global__ void __launch_bounds__(256)
block_gemm_kernel(const int8_t* xq, const float* xs, const int8_t* wq, const float* ws,
                  const float* bias, Int8LinearShape s, int64_t pitch, float* y) {
    __shared__ __align__(16) int a_tile[kTile][kRowWords];
    __shared__ __align__(16) int b_tile[kTile][kRowWords];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int64_t t0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
    const int64_t nkb = s.k_blocks(), row_stride = nkb * pitch;
    float out[4][4] = {};
    for (int64_t kb = 0; kb < nkb; ++kb) {
        int acc[4][4] = {};
        for (int64_t k0 = 0; k0 < pitch; k0 += kChunk) {
            const int width = static_cast<int>(pitch - k0 < kChunk ? pitch - k0 : kChunk);
            __syncthreads();
            load_chunk(a_tile, xq + kb * pitch + k0, t0, s.tokens, row_stride, width);
            load_chunk(b_tile, wq + kb * pitch + k0, n0, s.out_features, row_stride, width);
            __syncthreads();
#pragma unroll
            for (int w = 0; w < kChunk / 4; ++w) {
                int a[4], b[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) a[i] = a_tile[ty + 16 * i][w];
#pragma unroll
                for (int j = 0; j < 4; ++j) b[j] = b_tile[tx + 16 * j][w];
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
            }
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int64_t t = t0 + ty + 16 * i;
            const float x_scale = t < s.tokens ? xs[t * nkb + kb] : 0.f;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int64_t n = n0 + tx + 16 * j;
                const float w_scale = n < s.out_features ? ws[(n / s.block) * nkb + kb] : 0.f;
                out[i][j] = int8_add_rn(out[i][j], int8_block_term(acc[i][j], x_scale, w_scale));
            }
        }
    }
    for (int i = 0; i < 4; ++i) {
        const int64_t t = t0 + ty + 16 * i;
        if (t >= s.tokens) continue;
        for (int j = 0; j < 4; ++j) {
            const int64_t n = n0 + tx + 16 * j;
            if (n < s.out_features)
                y[t * s.out_features + n] = bias ? int8_add_rn(out[i][j], bias[n]) : out[i][j];
        }
    }
}

void check_shape(const Int8LinearShape& s) {
    if (s.tokens < 0 || s.in_features < 1 || s.out_features < 1 || s.block < 1)
        throw std::invalid_argument("int8 block linear: tokens >= 0, in/out features >= 1 and "
                                    "block >= 1 are required");
    if (s.block * 127 * 127 > INT32_MAX)
        throw std::invalid_argument("int8 block linear: block too large for int32 sums");
    if (s.tokens > int64_t(65535) * kTile)
        throw std::invalid_argument("int8 block linear: too many tokens for one launch");
}

}  // namespace

void int8_quantize_activations_cuda(const float* x, const Int8LinearShape& s, int8_t* xq,
                                    float* xs, void* stream) {
    check_shape(s);
    const int64_t ctas = s.tokens * s.k_blocks();
    if (ctas == 0) return;
    // Unpadded layout: pitch = block, but the last block of a row ends at K.
    // Rows are written block by block, so a last partial block must not spill into the next row:
    // use pitch = block only when it divides K; otherwise go through a padded buffer.
    if (s.in_features % s.block == 0) {
        act_quant_kernel<<<static_cast<unsigned int>(ctas), 128, 0, int8_stream(stream)>>>(
            x, s, xq, s.in_features, s.block, xs);
        CTQ_INT8_CUDA(cudaGetLastError());
        return;
    }
    cudaStream_t st = int8_stream(stream);
    const int64_t stride = s.k_blocks() * s.block;
    int8_t* tmp = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&tmp), s.tokens * stride, st));
    act_quant_kernel<<<static_cast<unsigned int>(ctas), 128, 0, st>>>(x, s, tmp, stride, s.block, xs);
    CTQ_INT8_CUDA(cudaGetLastError());
    CTQ_INT8_CUDA(cudaMemcpy2DAsync(xq, s.in_features, tmp, stride, s.in_features, s.tokens,
                                    cudaMemcpyDeviceToDevice, st));
    CTQ_INT8_CUDA(cudaFreeAsync(tmp, st));
}

void int8_block_linear_cuda(const float* x, const int8_t* w, const float* w_scale,
                            const float* bias, const Int8LinearShape& s, float* y, void* stream) {
    check_shape(s);
    if (s.tokens == 0) return;
    cudaStream_t st = int8_stream(stream);
    const int64_t nkb = s.k_blocks(), pitch = padded_block(s.block), row_stride = nkb * pitch;
    int8_t *xq = nullptr, *wq = nullptr;
    float* xs = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&xq), s.tokens * row_stride, st));
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&wq), s.out_features * row_stride, st));
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&xs), sizeof(float) * s.tokens * nkb, st));
    act_quant_kernel<<<static_cast<unsigned int>(s.tokens * nkb), 128, 0, st>>>(x, s, xq, row_stride,
                                                                                pitch, xs);
    CTQ_INT8_CUDA(cudaGetLastError());
    pack_weight_kernel<<<detail::int8_grid_for(s.out_features * row_stride, 256), 256, 0, st>>>(
        w, s, wq, pitch);
    CTQ_INT8_CUDA(cudaGetLastError());
    const dim3 grid(static_cast<unsigned int>((s.out_features + kTile - 1) / kTile),
                    static_cast<unsigned int>((s.tokens + kTile - 1) / kTile));
    block_gemm_kernel<<<grid, 256, 0, st>>>(xq, xs, wq, w_scale, bias, s, pitch, y);
    CTQ_INT8_CUDA(cudaGetLastError());
    CTQ_INT8_CUDA(cudaFreeAsync(xq, st));
    CTQ_INT8_CUDA(cudaFreeAsync(wq, st));
    CTQ_INT8_CUDA(cudaFreeAsync(xs, st));
}

}  // namespace ctq::kern
