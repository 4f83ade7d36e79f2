// CUDA twins of kernels/cpu/fp8_tiles.cpp: the same element functions (fp8_codec.hpp), so the
// same bits. amax reduces a tile's sub-rectangle per CUDA block and folds it in with one
// atomicMax on the f32 bits (order-free, hence exact); encode and decode are elementwise.
#include <ctq/kernels/fp8.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctq::kern {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kAmaxElementsPerBlock = 1 << 16;

void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess)
        throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// A stream-ordered device allocation freed on scope exit.
template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    cudaStream_t stream;
    DeviceBuffer(size_t n, cudaStream_t s) : stream(s) {
        check(cudaMallocAsync(reinterpret_cast<void**>(&ptr), std::max<size_t>(n, 1) * sizeof(T), s),
              "cudaMallocAsync");
    }
    ~DeviceBuffer() { cudaFreeAsync(ptr, stream); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// How a tile is cut into sub-rectangles of whole rows, one CUDA block each.
struct AmaxSplit {
    int64_t rows_per_block, blocks_per_tile;
    explicit AmaxSplit(const Fp8Tiling& t) {
        const int64_t width = std::min(t.tile_cols, t.cols);
        const int64_t height = std::min(t.tile_rows, t.rows);
        rows_per_block = std::min(height, std::max<int64_t>(1, kAmaxElementsPerBlock / width));
        blocks_per_tile = (height + rows_per_block - 1) / rows_per_block;
    }
};

__device__ unsigned block_max(unsigned v) {
    __shared__ unsigned warp_max[kThreads / 32];
    for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < kThreads / 32 ? warp_max[threadIdx.x] : 0u;
        for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

__global__ void tile_amax_kernel(const float* __restrict__ w, Fp8Tiling t, AmaxSplit split,
                                 unsigned* __restrict__ amax_bits) {
    const int64_t across = t.tiles_across();
    const int64_t b = blockIdx.x;
    const int64_t tile_col = b % across, rest = b / across;
    const int64_t tile_row = rest / split.blocks_per_tile, part = rest % split.blocks_per_tile;
    const int64_t r0 = tile_row * t.tile_rows + part * split.rows_per_block;
    const int64_t r_end = min(min(r0 + split.rows_per_block, (tile_row + 1) * t.tile_rows), t.rows);
    const int64_t c0 = tile_col * t.tile_cols;
    const int64_t width = min(t.tile_cols, t.cols - c0);
    if (r0 >= r_end) return;  // block-uniform: a partial last tile row needs fewer blocks
    const int64_t n = (r_end - r0) * width;
    unsigned m = 0;
    for (int64_t k = threadIdx.x; k < n; k += kThreads) {
        const int64_t r = r0 + k / width, c = c0 + k % width;
        m = max(m, __float_as_uint(w[r * t.cols + c]) & 0x7fffffffu);
    }
    m = block_max(m);
    if (threadIdx.x == 0) atomicMax(amax_bits + tile_row * across + tile_col, m);
}

template <class F>
__global__ void encode_kernel(const float* __restrict__ w, Fp8Tiling t,
                              const float* __restrict__ qscale, uint8_t* __restrict__ codes) {
    const int64_t across = t.tiles_across();
    for (int64_t r = blockIdx.y; r < t.rows; r += gridDim.y) {
        const float* qs = qscale + (r / t.tile_rows) * across;
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < t.cols;
             c += int64_t(gridDim.x) * blockDim.x)
            codes[r * t.cols + c] = fp8_quantize_element<F>(w[r * t.cols + c], qs[c / t.tile_cols]);
    }
}

template <class F>
__global__ void decode_kernel(const uint8_t* __restrict__ codes, Fp8Tiling t,
                              const float* __restrict__ scale, float* __restrict__ out) {
    const int64_t across = t.tiles_across();
    for (int64_t r = blockIdx.y; r < t.rows; r += gridDim.y) {
        const float* sc = scale + (r / t.tile_rows) * across;
        for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < t.cols;
             c += int64_t(gridDim.x) * blockDim.x)
            out[r * t.cols + c] = __fmul_rn(fp8_decode<F>(codes[r * t.cols + c]), sc[c / t.tile_cols]);
    }
}

__global__ void nonfinite_kernel(const float* __restrict__ w, int64_t n,
                                 unsigned long long* count, unsigned long long* first) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        if ((__float_as_uint(w[i]) & 0x7f800000u) != 0x7f800000u) continue;
        atomicAdd(count, 1ull);
        atomicMin(first, static_cast<unsigned long long>(i));
    }
}

// Grid for the row-wise elementwise kernels: x over columns, y over rows (grid-strided).
dim3 rows_grid(const Fp8Tiling& t) {
    const int64_t x = std::min<int64_t>((t.cols + kThreads - 1) / kThreads, 64);
    const int64_t y = std::min<int64_t>(t.rows, 65535);
    return dim3(static_cast<unsigned>(std::max<int64_t>(x, 1)), static_cast<unsigned>(std::max<int64_t>(y, 1)));
}

}  // namespace

void fp8_tile_amax_cuda(const float* w, const Fp8Tiling& t, float* amax, void* stream) {
    const cudaStream_t s = as_stream(stream);
    const int64_t count = t.tile_count();
    check(cudaMemsetAsync(amax, 0, static_cast<size_t>(count) * sizeof(float), s), "cudaMemsetAsync");
    if (t.rows == 0 || t.cols == 0) return;
    const AmaxSplit split(t);
    const int64_t blocks = count * split.blocks_per_tile;
    if (blocks > 0x7fffffff) throw std::runtime_error("fp8_tile_amax_cuda: tensor too large");
    tile_amax_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(
        w, t, split, reinterpret_cast<unsigned*>(amax));
    check(cudaGetLastError(), "tile_amax_kernel launch");
}

void fp8_encode_cuda(const float* w, const Fp8Tiling& t, const float* qscale, Fp8Format f,
                     uint8_t* codes, void* stream) {
    if (t.rows == 0 || t.cols == 0) return;
    with_fp8_format(f, [&](auto fmt) {
        encode_kernel<decltype(fmt)><<<rows_grid(t), kThreads, 0, as_stream(stream)>>>(w, t, qscale, codes);
    });
    check(cudaGetLastError(), "encode_kernel launch");
}

void fp8_decode_cuda(const uint8_t* codes, const Fp8Tiling& t, const float* scale, Fp8Format f,
                     float* out, void* stream) {
    if (t.rows == 0 || t.cols == 0) return;
    with_fp8_format(f, [&](auto fmt) {
        decode_kernel<decltype(fmt)><<<rows_grid(t), kThreads, 0, as_stream(stream)>>>(codes, t, scale, out);
    });
    check(cudaGetLastError(), "decode_kernel launch");
}

Fp8NonFinite fp8_find_nonfinite_cuda(const float* w, int64_t n, void* stream) {
    const cudaStream_t s = as_stream(stream);
    DeviceBuffer<unsigned long long> result(2, s);
    const unsigned long long init[2] = {0ull, ~0ull};
    check(cudaMemcpyAsync(result.ptr, init, sizeof(init), cudaMemcpyHostToDevice, s), "cudaMemcpyAsync");
    if (n > 0) {
        const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 4096);
        nonfinite_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(w, n, result.ptr, result.ptr + 1);
        check(cudaGetLastError(), "nonfinite_kernel launch");
    }
    unsigned long long host[2];
    check(cudaMemcpyAsync(host, result.ptr, sizeof(host), cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    Fp8NonFinite r;
    r.count = static_cast<int64_t>(host[0]);
    r.first = r.count ? static_cast<int64_t>(host[1]) : -1;
    return r;
}

Fp8NonFinite fp8_quantize_cuda(const float* w, const Fp8Tiling& t, Fp8Format f,
                               Fp8ScaleRule rule, uint8_t* codes, float* stored, void* stream) {
    const cudaStream_t s = as_stream(stream);
    const size_t count = static_cast<size_t>(t.tile_count());
    DeviceBuffer<float> amax_dev(count, s), qscale_dev(count, s);
    fp8_tile_amax_cuda(w, t, amax_dev.ptr, stream);
    std::vector<float> amax(count), qscale(count), scale(count);
    check(cudaMemcpyAsync(amax.data(), amax_dev.ptr, count * sizeof(float), cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    if (!std::all_of(amax.begin(), amax.end(), [](float a) { return std::isfinite(a); }))
        return fp8_find_nonfinite_cuda(w, t.rows * t.cols, stream);
    // Scales come from the same host function as the CPU twin's: identical bits by construction.
    const bool nonzero = fp8_scales_from_amax(amax.data(), static_cast<int64_t>(count), f, rule,
                                              qscale.data(), scale.data());
    check(cudaMemcpyAsync(stored, scale.data(), count * sizeof(float), cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync");
    if (nonzero) {
        check(cudaMemcpyAsync(qscale_dev.ptr, qscale.data(), count * sizeof(float),
                              cudaMemcpyHostToDevice, s), "cudaMemcpyAsync");
        fp8_encode_cuda(w, t, qscale_dev.ptr, f, codes, stream);
    } else {
        check(cudaMemsetAsync(codes, 0, static_cast<size_t>(t.rows * t.cols), s), "cudaMemsetAsync");
    }
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");  // host vectors die here
    return {};
}

}  // namespace ctq::kern
