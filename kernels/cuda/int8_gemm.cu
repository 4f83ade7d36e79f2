// CUDA INT8 block GEMM; CPU twin in kernels/cpu/int8_gemm.cpp, op order in
// ctq/kernels/int8_gemm.hpp. Plan: quantize x into int8 with every K block padded to a multiple
// of 16 bytes (zeros), re-lay W codes the same way, then a tensor-core GEMM over the padded K.
// Padding contributes 0 to the int32 sums, so any block size works and the sums are exact.
#include <ctq/kernels/int8_gemm.hpp>

#include "int8_cuda_check.cuh"

#include <stdexcept>

namespace ctq::kern {
namespace {

using detail::int8_stream;

constexpr int kTile = 128;      // outputs per CTA along tokens and along N
constexpr int kChunk = 128;     // K bytes per shared-memory stage
constexpr int kRowWords = 36;   // 32 words of data + 4 of padding (keeps 16-byte alignment)
constexpr int kSegments = kChunk / 16;

int64_t padded_block(int64_t bs) { return (bs + 15) / 16 * 16; }

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// One CTA of 8 warps per token (grid-strided); warp w quantizes K blocks w, w + 8, ... Element k
// of block kb goes to out + t*row_stride + kb*pitch + (k - k0); the pitch tail is zero-filled.
__global__ void act_quant_kernel(const float* x, Int8LinearShape s, int8_t* out, int64_t row_stride,
                                 int64_t pitch, float* xs) {
    const int64_t nkb = s.k_blocks();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    for (int64_t t = blockIdx.x; t < s.tokens; t += gridDim.x) {
        const float* src = x + t * s.in_features;
        for (int64_t kb = warp; kb < nkb; kb += warps) {
            const int64_t k0 = kb * s.block, k1 = min(s.in_features, k0 + s.block);
            float m = 0.f;
            for (int64_t k = k0 + lane; k < k1; k += 32) m = fmaxf(m, fabsf(src[k]));
            const float d = int8_act_block_scale(warp_max(m));
            if (lane == 0) xs[t * nkb + kb] = d;
            int8_t* dst = out + t * row_stride + kb * pitch;
            for (int64_t i = lane; i < pitch; i += 32)
                dst[i] = k0 + i < k1 ? int8_act_encode(src[k0 + i], d) : int8_t{0};
        }
    }
}

// One CTA per weight row (grid-strided); 32-bit index maths inside a row.
__global__ void pack_weight_kernel(const int8_t* w, Int8LinearShape s, int8_t* out, int pitch) {
    const int row_stride = static_cast<int>(s.k_blocks()) * pitch;
    const int block = static_cast<int>(s.block), k_max = static_cast<int>(s.in_features);
    for (int64_t n = blockIdx.x; n < s.out_features; n += gridDim.x)
        for (int i = threadIdx.x; i < row_stride; i += blockDim.x) {
            const int kb = i / pitch, j = i - kb * pitch, k = kb * block + j;
            out[n * row_stride + i] = (j < block && k < k_max) ? w[n * s.in_features + k] : int8_t{0};
        }
}

unsigned int capped_grid(int64_t n) { return static_cast<unsigned int>(n < 65535 * 8 ? n : 65535 * 8); }

// ---- GEMM: int8 tensor cores (mma.sync m16n8k32, sm_80+), 128x128 outputs per CTA, 8 warps of
// 64x32, K in 128-byte chunks double-buffered in shared memory by cp.async (zero-filled past the
// matrix edges; 72 KiB of dynamic shared memory). Rows are 32 data words + 4 pad words, so every
// fragment load of a warp hits 32 distinct banks. The int32 sums of one K block are folded into float outputs in the exact
// order of the CPU twin (see int8_gemm.hpp).

struct __align__(16) Stage {
    int a[kTile][kRowWords];
    int b[kTile][kRowWords];
};

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void mma_s8(int (&c)[4], const int (&a)[4], const int (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}

// Chunk `chunk` of the flattened (K block, 64-byte piece) sequence into `st`.
__device__ void load_stage(Stage& st, const int8_t* xq, const int8_t* wq, int64_t t0, int64_t n0,
                           const Int8LinearShape& s, int64_t pitch, int64_t chunks_per_block,
                           int64_t chunk) {
    const int64_t kb = chunk / chunks_per_block, k0 = (chunk % chunks_per_block) * kChunk;
    const int64_t row_stride = s.k_blocks() * pitch, koff = kb * pitch + k0;
    const int64_t width = pitch - k0;  // a multiple of 16
    for (int i = threadIdx.x; i < kTile * kSegments; i += blockDim.x) {
        const int r = i / kSegments, seg = i % kSegments;
        const bool in_k = seg * 16 < width;
        const bool va = in_k && t0 + r < s.tokens, vb = in_k && n0 + r < s.out_features;
        cp_async16(&st.a[r][seg * 4], va ? xq + (t0 + r) * row_stride + koff + seg * 16 : xq, va);
        cp_async16(&st.b[r][seg * 4], vb ? wq + (n0 + r) * row_stride + koff + seg * 16 : wq, vb);
    }
}

// The scales of K block kb for this thread's rows and columns (issued early, used at the fold).
__device__ __forceinline__ void load_scales(const float* xs, const float* ws, const Int8LinearShape& s,
                                            int64_t t0, int64_t n0, int wm, int wn, int g, int tq,
                                            int64_t kb, float (&x_scale)[4][2], float (&w_scale)[4][2]) {
    const int64_t nkb = s.k_blocks();
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int64_t t = t0 + wm * 64 + i * 16 + g + 8 * h;
            x_scale[i][h] = t < s.tokens ? xs[t * nkb + kb] : 0.f;
        }
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int64_t n = n0 + wn * 32 + j * 8 + 2 * tq + e;
            w_scale[j][e] = n < s.out_features ? ws[(n / s.block) * nkb + kb] : 0.f;
        }
}

__global__ void __launch_bounds__(256, 1)
block_gemm_kernel(const int8_t* xq, const float* xs, const int8_t* wq, const float* ws,
                  const float* bias, Int8LinearShape s, int64_t pitch, float* y) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    Stage* stages = reinterpret_cast<Stage*>(smem_raw);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tq = lane % 4;
    const int wm = warp / 4, wn = warp % 4;  // 2 x 4 warps, 64 x 32 outputs each
    const int64_t t0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
    const int64_t nkb = s.k_blocks(), chunks_per_block = (pitch + kChunk - 1) / kChunk;
    const int64_t chunks = nkb * chunks_per_block;
    // Output (i, j, h, e): row t0 + wm*64 + i*16 + g + 8h, column n0 + wn*32 + j*8 + 2tq + e.
    int acc[4][4][4] = {};
    float out[4][4][4] = {};
    float x_scale[4][2], w_scale[4][2];  // of the current K block, loaded at its first chunk
    load_stage(stages[0], xq, wq, t0, n0, s, pitch, chunks_per_block, 0);
    cp_async_commit();
    for (int64_t c = 0; c < chunks; ++c) {
        if (c + 1 < chunks) {
            load_stage(stages[(c + 1) & 1], xq, wq, t0, n0, s, pitch, chunks_per_block, c + 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const Stage& st = stages[c & 1];
        const int64_t kb = c / chunks_per_block, piece = c % chunks_per_block;
        if (piece == 0) load_scales(xs, ws, s, t0, n0, wm, wn, g, tq, kb, x_scale, w_scale);
        const int64_t width = pitch - piece * kChunk;  // bytes of this chunk that are in the block
#pragma unroll
        for (int ks = 0; ks < kChunk / 32; ++ks) {
            if (ks * 32 >= width) break;  // warp-uniform: the rest of the chunk is padding
            int a[4][4], b[4][2];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int row = wm * 64 + i * 16 + g;
                a[i][0] = st.a[row][ks * 8 + tq];
                a[i][1] = st.a[row + 8][ks * 8 + tq];
                a[i][2] = st.a[row][ks * 8 + 4 + tq];
                a[i][3] = st.a[row + 8][ks * 8 + 4 + tq];
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int col = wn * 32 + j * 8 + g;
                b[j][0] = st.b[col][ks * 8 + tq];
                b[j][1] = st.b[col][ks * 8 + 4 + tq];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma_s8(acc[i][j], a[i], b[j]);
        }
        if (piece == chunks_per_block - 1) {  // end of K block kb: fold
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j)
#pragma unroll
                    for (int v = 0; v < 4; ++v) {
                        out[i][j][v] = int8_add_rn(
                            out[i][j][v], int8_block_term(acc[i][j][v], x_scale[i][v / 2], w_scale[j][v % 2]));
                        acc[i][j][v] = 0;
                    }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int v = 0; v < 4; ++v) {
                const int64_t t = t0 + wm * 64 + i * 16 + g + 8 * (v / 2);
                const int64_t n = n0 + wn * 32 + j * 8 + 2 * tq + v % 2;
                if (t < s.tokens && n < s.out_features)
                    y[t * s.out_features + n] = bias ? int8_add_rn(out[i][j][v], bias[n]) : out[i][j][v];
            }
}

void check_shape(const Int8LinearShape& s) {
    int8_linear_check_shape(s);
    if (s.tokens > int64_t(65535) * kTile)
        throw std::invalid_argument("int8 block linear: too many tokens for one launch");
    if (s.k_blocks() * padded_block(s.block) > INT32_MAX / 2)
        throw std::invalid_argument("int8 block linear: in_features too large");
}

void require_int8_tensor_cores() {
    int device = 0, major = 0;
    CTQ_INT8_CUDA(cudaGetDevice(&device));
    CTQ_INT8_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major < 8)
        throw std::invalid_argument("int8 block linear on CUDA needs compute capability 8.0+ "
                                    "(int8 mma); use int8_block_linear_cpu");
}

}  // namespace

void int8_quantize_activations_cuda(const float* x, const Int8LinearShape& s, int8_t* xq,
                                    float* xs, void* stream) {
    check_shape(s);
    if (s.tokens == 0) return;
    // Unpadded layout: pitch = block, but the last block of a row ends at K.
    // Rows are written block by block, so a last partial block must not spill into the next row:
    // use pitch = block only when it divides K; otherwise go through a padded buffer.
    if (s.in_features % s.block == 0) {
        act_quant_kernel<<<capped_grid(s.tokens), 256, 0, int8_stream(stream)>>>(
            x, s, xq, s.in_features, s.block, xs);
        CTQ_INT8_CUDA(cudaGetLastError());
        return;
    }
    cudaStream_t st = int8_stream(stream);
    const int64_t stride = s.k_blocks() * s.block;
    int8_t* tmp = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&tmp), s.tokens * stride, st));
    act_quant_kernel<<<capped_grid(s.tokens), 256, 0, st>>>(x, s, tmp, stride, s.block, xs);
    CTQ_INT8_CUDA(cudaGetLastError());
    CTQ_INT8_CUDA(cudaMemcpy2DAsync(xq, s.in_features, tmp, stride, s.in_features, s.tokens,
                                    cudaMemcpyDeviceToDevice, st));
    CTQ_INT8_CUDA(cudaFreeAsync(tmp, st));
}

void int8_block_linear_cuda(const float* x, const int8_t* w, const float* w_scale,
                            const float* bias, const Int8LinearShape& s, float* y, void* stream) {
    check_shape(s);
    if (s.tokens == 0) return;
    require_int8_tensor_cores();
    cudaStream_t st = int8_stream(stream);
    const int64_t nkb = s.k_blocks(), pitch = padded_block(s.block), row_stride = nkb * pitch;
    int8_t *xq = nullptr, *wq = nullptr;
    float* xs = nullptr;
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&xq), s.tokens * row_stride, st));
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&wq), s.out_features * row_stride, st));
    CTQ_INT8_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&xs), sizeof(float) * s.tokens * nkb, st));
    act_quant_kernel<<<capped_grid(s.tokens), 256, 0, st>>>(x, s, xq, row_stride, pitch, xs);
    CTQ_INT8_CUDA(cudaGetLastError());
    pack_weight_kernel<<<capped_grid(s.out_features), 256, 0, st>>>(w, s, wq, static_cast<int>(pitch));
    CTQ_INT8_CUDA(cudaGetLastError());
    const dim3 grid(static_cast<unsigned int>((s.out_features + kTile - 1) / kTile),
                    static_cast<unsigned int>((s.tokens + kTile - 1) / kTile));
    constexpr int smem = 2 * sizeof(Stage);
    CTQ_INT8_CUDA(cudaFuncSetAttribute(block_gemm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    block_gemm_kernel<<<grid, 256, smem, st>>>(xq, xs, wq, w_scale, bias, s, pitch, y);
    CTQ_INT8_CUDA(cudaGetLastError());
    CTQ_INT8_CUDA(cudaFreeAsync(xq, st));
    CTQ_INT8_CUDA(cudaFreeAsync(wq, st));
    CTQ_INT8_CUDA(cudaFreeAsync(xs, st));
}

}  // namespace ctq::kern
