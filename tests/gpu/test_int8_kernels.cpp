// GPU machine only: every INT8 CUDA kernel against its CPU twin, bit for bit, on many shapes
// (1x1 up to 18432x3072, dividing and not). Timings are printed, never asserted.
#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/int8.hpp>
#include <ctq/kernels/int8_gemm.hpp>

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace ctq::kern;

namespace {

#define CUDA_OK(x) REQUIRE((x) == cudaSuccess)

template <class T>
struct Dev {
    T* p = nullptr;
    size_t n = 0;
    explicit Dev(size_t count) : n(count) { CUDA_OK(cudaMalloc(&p, sizeof(T) * (n ? n : 1))); }
    Dev(const std::vector<T>& h) : Dev(h.size()) { up(h); }
    ~Dev() { cudaFree(p); }
    void up(const std::vector<T>& h) { CUDA_OK(cudaMemcpy(p, h.data(), sizeof(T) * n, cudaMemcpyHostToDevice)); }
    std::vector<T> down() const {
        std::vector<T> h(n);
        CUDA_OK(cudaMemcpy(h.data(), p, sizeof(T) * n, cudaMemcpyDeviceToHost));
        return h;
    }
};

// Gaussian rows with varied magnitudes, a zero row and a zero corner, so that per-row and
// per-tile scales all differ and the zero paths run.
std::vector<float> weight(int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        const float mag = std::ldexp(1.f, static_cast<int>(r % 13) - 6);
        for (int64_t c = 0; c < cols; ++c) w[r * cols + c] = d(rng) * mag;
    }
    if (rows > 2) std::fill(w.begin() + cols, w.begin() + 2 * cols, 0.f);
    for (int64_t r = 0; r < std::min<int64_t>(rows, 40); ++r)
        for (int64_t c = 0; c < std::min<int64_t>(cols, 40); ++c) w[r * cols + c] = 0.f;
    return w;
}

template <class T>
size_t mismatches(const std::vector<T>& a, const std::vector<T>& b) {
    REQUIRE(a.size() == b.size());
    size_t n = 0;
    for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
    return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Shape {
    int64_t rows, cols;
};

const Shape kShapes[] = {{1, 1},     {1, 7},     {3, 5},      {130, 200},   {128, 128},
                         {256, 1280}, {1000, 333}, {4097, 1},  {257, 4095},  {3072, 3072},
                         {18432, 3072}};

}  // namespace

TEST_CASE("int8 quantize: CUDA == CPU on every stage, every mode, many shapes") {
    for (const Shape& s : kShapes)
        for (Int8Mode mode : {Int8Mode::Tensor, Int8Mode::Row, Int8Mode::Block})
            for (int64_t bs : {64, 128, 100}) {
                if (mode != Int8Mode::Block && bs != 64) continue;
                CAPTURE(s.rows);
                CAPTURE(s.cols);
                CAPTURE(static_cast<int>(mode));
                CAPTURE(bs);
                const std::vector<float> w = weight(s.rows, s.cols, static_cast<uint32_t>(s.rows * 31 + s.cols));
                const Int8Tiling t = int8_tiling(mode, s.rows, s.cols, bs);
                const size_t nt = static_cast<size_t>(t.count());
                std::vector<float> amax(nt), apply(nt), stored(nt), deq(w.size());
                std::vector<int8_t> q(w.size());
                int8_tile_amax_cpu(w.data(), t, amax.data());
                int8_tile_scales_cpu(mode, amax.data(), t.count(), apply.data(), stored.data());
                int8_encode_cpu(mode, w.data(), t, apply.data(), q.data());
                int8_decode_cpu(q.data(), t, stored.data(), deq.data());

                Dev<float> dw(w), damax(nt), dapply(nt), dstored(nt), ddeq(w.size());
                Dev<int8_t> dq(w.size());
                int8_tile_amax_cuda(dw.p, t, damax.p, nullptr);
                int8_tile_scales_cuda(mode, damax.p, t.count(), dapply.p, dstored.p, nullptr);
                int8_encode_cuda(mode, dw.p, t, dapply.p, dq.p, nullptr);
                int8_decode_cuda(dq.p, t, dstored.p, ddeq.p, nullptr);
                CUDA_OK(cudaDeviceSynchronize());
                CHECK(mismatches(amax, damax.down()) == 0);
                CHECK(mismatches(apply, dapply.down()) == 0);
                CHECK(mismatches(stored, dstored.down()) == 0);
                CHECK(mismatches(q, dq.down()) == 0);
                CHECK(mismatches(deq, ddeq.down()) == 0);

                // The one-call pass, too.
                Dev<int8_t> dq2(w.size());
                Dev<float> dstored2(nt);
                CHECK(int8_quantize_cuda(mode, dw.p, t, dq2.p, dstored2.p, nullptr).count == 0);
                CHECK(mismatches(q, dq2.down()) == 0);
                CHECK(mismatches(stored, dstored2.down()) == 0);
            }
}

TEST_CASE("int8 all-zero weight and non-finite scan on CUDA") {
    const std::vector<float> zero(300 * 200, 0.f);
    Dev<float> dz(zero);
    for (Int8Mode mode : {Int8Mode::Tensor, Int8Mode::Row, Int8Mode::Block}) {
        const Int8Tiling t = int8_tiling(mode, 300, 200, 128);
        Dev<int8_t> dq(zero.size());
        Dev<float> ds(static_cast<size_t>(t.count()));
        CHECK(int8_quantize_cuda(mode, dz.p, t, dq.p, ds.p, nullptr).count == 0);
        for (int8_t c : dq.down()) REQUIRE(c == 0);
        for (float v : ds.down()) REQUIRE(v == 1.f);
    }
    std::vector<float> w(1 << 20, 0.5f);
    w[777777] = std::numeric_limits<float>::quiet_NaN();
    w[123457] = std::numeric_limits<float>::infinity();
    w[999999] = -std::numeric_limits<float>::infinity();
    Dev<float> dw(w);
    const Int8NonFinite g = int8_scan_non_finite_cuda(dw.p, static_cast<int64_t>(w.size()), nullptr);
    const Int8NonFinite c = int8_scan_non_finite_cpu(w.data(), static_cast<int64_t>(w.size()));
    CHECK(g.count == 3);
    CHECK(g.count == c.count);
    CHECK(g.first == 123457);
    CHECK(g.first == c.first);
}

TEST_CASE("Hadamard rotation: CUDA == CPU") {
    struct R {
        int64_t rows, cols, group;
    };
    for (const R& r : {R{1, 4, 4}, R{3, 16, 4}, R{5, 1024, 256}, R{7, 3072, 1024}, R{4, 4096, 4096},
                       R{2, 16384, 16384}, R{18432, 3072, 1024}, R{3000, 3072, 256}}) {
        CAPTURE(r.rows);
        CAPTURE(r.cols);
        CAPTURE(r.group);
        std::vector<float> w = weight(r.rows, r.cols, 7);
        Dev<float> dw(w);
        hadamard_rotate_rows_cpu(w.data(), r.rows, r.cols, r.group);
        hadamard_rotate_rows_cuda(dw.p, r.rows, r.cols, r.group, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        CHECK(mismatches(w, dw.down()) == 0);
    }
}

TEST_CASE("int8 block GEMM: CUDA == CPU bit for bit") {
    struct G {
        int64_t tokens, n, k, bs;
    };
    for (const G& g : {G{1, 1, 1, 128}, G{7, 130, 200, 64}, G{33, 300, 517, 128}, G{64, 64, 64, 64},
                       G{100, 257, 1000, 3}, G{65, 129, 4096, 128}, G{17, 99, 250, 100},
                       G{300, 515, 1030, 128}, G{129, 130, 2048, 64}, G{256, 3072, 3072, 128}}) {
        for (bool with_bias : {false, true}) {
            CAPTURE(g.tokens);
            CAPTURE(g.n);
            CAPTURE(g.k);
            CAPTURE(g.bs);
            const Int8LinearShape s{g.tokens, g.k, g.n, g.bs};
            const std::vector<float> x = weight(g.tokens, g.k, 3), w = weight(g.n, g.k, 4);
            const std::vector<float> bias = weight(1, g.n, 5);
            const Int8Tiling t = int8_tiling(Int8Mode::Block, g.n, g.k, g.bs);
            std::vector<int8_t> wq(w.size());
            std::vector<float> ws(static_cast<size_t>(t.count()));
            REQUIRE(int8_quantize_cpu(Int8Mode::Block, w.data(), t, wq.data(), ws.data()).count == 0);
            std::vector<float> y(static_cast<size_t>(g.tokens * g.n));
            int8_block_linear_cpu(x.data(), wq.data(), ws.data(), with_bias ? bias.data() : nullptr, s, y.data());

            Dev<float> dx(x), dws(ws), db(bias), dy(y.size());
            Dev<int8_t> dwq(wq);
            int8_block_linear_cuda(dx.p, dwq.p, dws.p, with_bias ? db.p : nullptr, s, dy.p, nullptr);
            CUDA_OK(cudaDeviceSynchronize());
            CHECK(mismatches(y, dy.down()) == 0);

            // activation codes and scales
            std::vector<int8_t> xq(x.size());
            std::vector<float> xs(static_cast<size_t>(g.tokens * s.k_blocks()));
            int8_quantize_activations_cpu(x.data(), s, xq.data(), xs.data());
            Dev<int8_t> dxq(x.size());
            Dev<float> dxs(xs.size());
            int8_quantize_activations_cuda(dx.p, s, dxq.p, dxs.p, nullptr);
            CUDA_OK(cudaDeviceSynchronize());
            CHECK(mismatches(xq, dxq.down()) == 0);
            CHECK(mismatches(xs, dxs.down()) == 0);
        }
    }
}

TEST_CASE("timings (printed, not asserted)") {
    const int64_t rows = 18432, cols = 3072;
    const std::vector<float> w = weight(rows, cols, 9);
    Dev<float> dw(w);
    Dev<int8_t> dq(w.size());
    for (Int8Mode mode : {Int8Mode::Row, Int8Mode::Block}) {
        const Int8Tiling t = int8_tiling(mode, rows, cols, 128);
        Dev<float> ds(static_cast<size_t>(t.count()));
        int8_quantize_cuda(mode, dw.p, t, dq.p, ds.p, nullptr);  // warm-up
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) int8_quantize_cuda(mode, dw.p, t, dq.p, ds.p, nullptr);
        const double gpu = seconds_since(t0) / 10;
        std::vector<int8_t> q(w.size());
        std::vector<float> s(static_cast<size_t>(t.count()));
        t0 = std::chrono::steady_clock::now();
        int8_quantize_cpu(mode, w.data(), t, q.data(), s.data());
        const double cpu = seconds_since(t0);
        MESSAGE("RESULT int8 quantize " << std::string(mode == Int8Mode::Row ? "row" : "block128") << " 18432x3072: CUDA "
                << gpu * 1e3 << " ms (incl. NaN scan + sync), CPU twin " << cpu * 1e3 << " ms");
    }
    for (int64_t g : {256, 1024}) {
        hadamard_rotate_rows_cuda(dw.p, rows, cols, g, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) hadamard_rotate_rows_cuda(dw.p, rows, cols, g, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        MESSAGE("RESULT hadamard rotate 18432x3072 G=" << g << ": CUDA " << seconds_since(t0) / 10 * 1e3 << " ms");
    }
    for (int64_t tokens : {256, 4096}) {
        const int64_t n = 3072, k = 3072;
        const Int8LinearShape s{tokens, k, n, 128};
        const std::vector<float> x = weight(tokens, k, 3);
        const Int8Tiling t = int8_tiling(Int8Mode::Block, n, k, 128);
        Dev<float> dx(x), dws(static_cast<size_t>(t.count())), dy(static_cast<size_t>(tokens * n));
        Dev<int8_t> dwq(static_cast<size_t>(n * k));
        int8_quantize_cuda(Int8Mode::Block, dw.p, t, dwq.p, dws.p, nullptr);
        int8_block_linear_cuda(dx.p, dwq.p, dws.p, nullptr, s, dy.p, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) int8_block_linear_cuda(dx.p, dwq.p, dws.p, nullptr, s, dy.p, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        const double sec = seconds_since(t0) / 10;
        MESSAGE("RESULT int8 block GEMM " << tokens << "x" << n << "x" << k << " bs128: " << sec * 1e3
                << " ms, " << 2.0 * tokens * n * k / sec / 1e12 << " TOPS (incl. act quant + weight repack)");
        Dev<int8_t> dxq(x.size());
        Dev<float> dxs(static_cast<size_t>(tokens * s.k_blocks()));
        t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) int8_quantize_activations_cuda(dx.p, s, dxq.p, dxs.p, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        MESSAGE("RESULT   of which activation quantization alone: " << seconds_since(t0) / 10 * 1e3 << " ms");
    }
}
