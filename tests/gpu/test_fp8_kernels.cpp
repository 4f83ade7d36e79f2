// CUDA FP8 kernels against their CPU twins, bit for bit: tile amax, the whole round-to-nearest
// quantization (codes and scales), decode and the non-finite search, for both formats, every
// scaling mode and shapes from 1x1 to 18432x3072, most not dividing the block.
#include <ctq/kernels/fp8.hpp>

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace ctq::kern;

namespace {

void cuda_ok(cudaError_t e) { REQUIRE_MESSAGE(e == cudaSuccess, cudaGetErrorString(e)); }

template <class T>
struct Device {
    T* ptr = nullptr;
    size_t n;
    explicit Device(size_t count) : n(count) { cuda_ok(cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T))); }
    Device(const std::vector<T>& host) : Device(host.size()) {
        cuda_ok(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    }
    ~Device() { cudaFree(ptr); }
    std::vector<T> host() const {
        std::vector<T> v(n);
        cuda_ok(cudaMemcpy(v.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
        return v;
    }
};

template <class T>
int64_t bit_mismatches(const std::vector<T>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) return -1;
    int64_t n = 0;
    for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
    return n;
}

// Gaussian weights with outliers, zeros of both signs, f32 subnormals and values whose scaled
// image lands near FP8 midpoints: every branch of the codec is exercised.
std::vector<float> weight(int64_t rows, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (auto& x : w) x = normal(rng);
    for (size_t i = 0; i < w.size(); i += 53) w[i] *= 30.0f;
    for (size_t i = 7; i < w.size(); i += 101) w[i] = (i & 2) ? -0.0f : 0.0f;
    for (size_t i = 11; i < w.size(); i += 173) w[i] = std::ldexp(float(i % 7) - 3.0f, -140);
    for (size_t i = 13; i < w.size(); i += 197) w[i] = std::ldexp(1.0f + 1.0f / 16, -12);
    return w;
}

struct Mode {
    const char* name;
    Fp8ScaleRule rule;
    int64_t block;  // 0: per tensor, -1: per row
};

Fp8Tiling tiling_of(const Mode& m, int64_t rows, int64_t cols) {
    if (m.block == 0) return Fp8Tiling::per_tensor(rows, cols);
    if (m.block < 0) return Fp8Tiling::per_row(rows, cols);
    return Fp8Tiling::per_block(rows, cols, m.block);
}

struct Shape {
    int64_t rows, cols;
};

}  // namespace

TEST_CASE("fp8 CUDA kernels give the CPU twins' bits") {
    const Shape shapes[] = {{1, 1},     {1, 3},      {3, 1},     {7, 129},    {64, 64},   {130, 200},
                            {256, 200}, {257, 1000}, {1000, 257}, {5, 70000}, {70001, 3}, {3072, 768},
                            {4096, 3000}, {18432, 3072}};
    const Mode modes[] = {{"tensor", Fp8ScaleRule::divide, 0},
                          {"row", Fp8ScaleRule::reciprocal_multiply, -1},
                          {"block64", Fp8ScaleRule::reciprocal_multiply, 64},
                          {"block128", Fp8ScaleRule::reciprocal_multiply, 128}};
    int64_t cases = 0;
    for (const Shape s : shapes) {
        const std::vector<float> w = weight(s.rows, s.cols, uint64_t(s.rows * 7919 + s.cols));
        const Device<float> w_dev(w);
        for (const Mode& m : modes)
            for (Fp8Format f : {Fp8Format::e4m3fn, Fp8Format::e5m2}) {
                const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " " + m.name +
                                         (f == Fp8Format::e5m2 ? " e5m2" : " e4m3fn");
                CAPTURE(what);
                const Fp8Tiling t = tiling_of(m, s.rows, s.cols);
                const size_t tiles = static_cast<size_t>(t.tile_count()), n = w.size();

                std::vector<float> amax_cpu(tiles);
                fp8_tile_amax_cpu(w.data(), t, amax_cpu.data());
                Device<float> amax_dev(tiles);
                fp8_tile_amax_cuda(w_dev.ptr, t, amax_dev.ptr, nullptr);
                CHECK(bit_mismatches(amax_cpu, amax_dev.host()) == 0);

                std::vector<uint8_t> codes_cpu(n);
                std::vector<float> scale_cpu(tiles);
                CHECK(fp8_quantize_cpu(w.data(), t, f, m.rule, codes_cpu.data(), scale_cpu.data()).count == 0);
                Device<uint8_t> codes_dev(n);
                Device<float> scale_dev(tiles);
                CHECK(fp8_quantize_cuda(w_dev.ptr, t, f, m.rule, codes_dev.ptr, scale_dev.ptr, nullptr).count == 0);
                CHECK(bit_mismatches(codes_cpu, codes_dev.host()) == 0);
                CHECK(bit_mismatches(scale_cpu, scale_dev.host()) == 0);

                std::vector<float> deq_cpu(n);
                fp8_decode_cpu(codes_cpu.data(), t, scale_cpu.data(), f, deq_cpu.data());
                Device<float> deq_dev(n);
                fp8_decode_cuda(codes_dev.ptr, t, scale_dev.ptr, f, deq_dev.ptr, nullptr);
                cuda_ok(cudaDeviceSynchronize());
                CHECK(bit_mismatches(deq_cpu, deq_dev.host()) == 0);
                ++cases;
            }
    }
    CHECK(cases == 14 * 4 * 2);
}

TEST_CASE("fp8 CUDA: all 256 codes decode and every scaled value encodes as on the CPU") {
    // Scale 1 over a 1x256 tile decodes the code table; encoding a dense sweep of the f32 line
    // (every 2^13-th bit pattern, both signs, NaN and Inf included) compares the codec itself.
    std::vector<uint8_t> all(256);
    for (int c = 0; c < 256; ++c) all[c] = static_cast<uint8_t>(c);
    std::vector<float> sweep;
    for (uint64_t u = 0; u <= 0xffffffffull; u += 1u << 13) {
        const uint32_t b = static_cast<uint32_t>(u);
        float x;
        std::memcpy(&x, &b, 4);
        sweep.push_back(x);
    }
    const Fp8Tiling codes_t = Fp8Tiling::per_tensor(1, 256), sweep_t = Fp8Tiling::per_tensor(1, int64_t(sweep.size()));
    const std::vector<float> one{1.0f};
    const Device<float> one_dev(one);
    const Device<uint8_t> all_dev(all);
    const Device<float> sweep_dev(sweep);
    for (Fp8Format f : {Fp8Format::e4m3fn, Fp8Format::e5m2}) {
        std::vector<float> cpu(256);
        fp8_decode_cpu(all.data(), codes_t, one.data(), f, cpu.data());
        Device<float> dev(256);
        fp8_decode_cuda(all_dev.ptr, codes_t, one_dev.ptr, f, dev.ptr, nullptr);
        cuda_ok(cudaDeviceSynchronize());
        const auto gpu = dev.host();
        int64_t mismatches = 0;
        for (int c = 0; c < 256; ++c)
            mismatches += !(std::isnan(cpu[c]) && std::isnan(gpu[c])) && std::memcmp(&cpu[c], &gpu[c], 4) != 0;
        CHECK(mismatches == 0);

        std::vector<uint8_t> enc_cpu(sweep.size());
        fp8_encode_cpu(sweep.data(), sweep_t, one.data(), f, enc_cpu.data());
        Device<uint8_t> enc_dev(sweep.size());
        fp8_encode_cuda(sweep_dev.ptr, sweep_t, one_dev.ptr, f, enc_dev.ptr, nullptr);
        cuda_ok(cudaDeviceSynchronize());
        CHECK(bit_mismatches(enc_cpu, enc_dev.host()) == 0);
    }
}

TEST_CASE("fp8 CUDA: non-finite weights are found and located as on the CPU") {
    const int64_t rows = 3000, cols = 777;
    std::vector<float> w = weight(rows, cols, 99);
    w[1234 * cols + 5] = std::numeric_limits<float>::quiet_NaN();
    w[2000 * cols + 700] = std::numeric_limits<float>::infinity();
    w[2999 * cols + 776] = -std::numeric_limits<float>::infinity();
    const Device<float> w_dev(w);
    for (int64_t block : {int64_t(0), int64_t(64)}) {
        const Fp8Tiling t = block ? Fp8Tiling::per_block(rows, cols, block) : Fp8Tiling::per_tensor(rows, cols);
        std::vector<uint8_t> codes(w.size());
        std::vector<float> scale(static_cast<size_t>(t.tile_count()));
        const Fp8NonFinite cpu = fp8_quantize_cpu(w.data(), t, Fp8Format::e4m3fn, Fp8ScaleRule::divide,
                                                  codes.data(), scale.data());
        Device<uint8_t> codes_dev(w.size());
        Device<float> scale_dev(scale.size());
        const Fp8NonFinite gpu = fp8_quantize_cuda(w_dev.ptr, t, Fp8Format::e4m3fn, Fp8ScaleRule::divide,
                                                   codes_dev.ptr, scale_dev.ptr, nullptr);
        CHECK(cpu.count == 3);
        CHECK(cpu.first == 1234 * cols + 5);
        CHECK(gpu.count == cpu.count);
        CHECK(gpu.first == cpu.first);
    }
}
