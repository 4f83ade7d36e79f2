// GPU machine only: the flip-score CUDA kernels give the CPU twin's bits (dense, strided and
// at-index scores and rank keys, BF16 and F32 G) and select the same set with the same count,
// also when the count overflows the output (then: a duplicate-free subset of the CPU's set).
#include "cuda_buffer.hpp"
#include "flip_score_fixture.hpp"

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <set>

using namespace ctq;

namespace {

using test::Buffer;

struct OnDevice {
    Buffer<float> g, delta, err, ru, rv;
    Buffer<uint16_t> g_bf16;
    explicit OnDevice(const test::FlipState& s)
        : g(s.g.size(), s.g.data()), delta(s.delta.size(), s.delta.data()), err(s.err.size(), s.err.data()),
          ru(s.ru.size(), s.ru.data()), rv(s.rv.size(), s.rv.data()), g_bf16(s.g_bf16.size(), s.g_bf16.data()) {}
    kern::FlipScoreInputs inputs(const test::FlipState& s, bool bf16) const {
        return s.inputs(bf16, bf16 ? static_cast<const void*>(g_bf16.ptr) : g.ptr, delta.ptr, err.ptr, ru.ptr, rv.ptr);
    }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("flip scores on CUDA: the CPU twin's bits") {
    for (const auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 53}, {3000, 4000}}) {
        const test::FlipState s(rows, cols, 5);
        const OnDevice dev(s);
        const int64_t n = rows * cols;
        for (const bool bf16 : {true, false}) {
            for (const int64_t stride : {int64_t(1), int64_t(7)}) {
                INFO("rows " << s.rows << " bf16 " << bf16 << " stride " << stride);
                const int64_t count = (n + stride - 1) / stride;
                std::vector<float> cpu(static_cast<size_t>(count));
                kern::flip_scores_cpu(s.inputs(bf16), stride, count, 2e-5f, cpu.data());
                Buffer<float> out(static_cast<size_t>(count));
                kern::flip_scores_cuda(dev.inputs(s, bf16), stride, count, 2e-5f, out.ptr, nullptr);
                CUDA_OK(cudaDeviceSynchronize());
                CHECK(same_bits(out.host(), cpu));
            }
            std::vector<int64_t> idx;
            for (int64_t i = n - 1; i >= 0; i -= 13) idx.push_back(i);
            std::vector<float> cpu(idx.size());
            kern::flip_scores_at_cpu(s.inputs(bf16), idx.data(), static_cast<int64_t>(idx.size()), cpu.data());
            Buffer<int64_t> didx(idx.size(), idx.data());
            Buffer<float> out(idx.size());
            kern::flip_scores_at_cuda(dev.inputs(s, bf16), didx.ptr, static_cast<int64_t>(idx.size()), out.ptr, nullptr);
            CUDA_OK(cudaDeviceSynchronize());
            CHECK(same_bits(out.host(), cpu));
            // All valid, and the first third valid by a count on the device.
            for (const int64_t valid : {int64_t(-1), static_cast<int64_t>(idx.size() / 3)}) {
                std::vector<int64_t> keys(idx.size());
                const int64_t* on_host = valid < 0 ? nullptr : &valid;
                kern::flip_rank_keys_cpu(s.inputs(bf16), idx.data(), static_cast<int64_t>(idx.size()), on_host,
                                         keys.data());
                Buffer<int64_t> dvalid(1, &valid), dkeys(idx.size());
                kern::flip_rank_keys_cuda(dev.inputs(s, bf16), didx.ptr, static_cast<int64_t>(idx.size()),
                                          valid < 0 ? nullptr : dvalid.ptr, dkeys.ptr, nullptr);
                CUDA_OK(cudaDeviceSynchronize());
                CHECK(dkeys.host() == keys);
            }
        }
    }
}

TEST_CASE("flip select on CUDA: the CPU twin's set and count, also past capacity") {
    // 37x53: one element per thread; the others, with BF16 G, four (a row's length a multiple of
    // 4), 33x36 with a last warp only partly filled.
    for (const auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 53}, {33, 36}, {3000, 4000}}) {
        const test::FlipState s(rows, cols, 9);
        const OnDevice dev(s);
        for (const bool bf16 : {true, false}) {
            INFO("rows " << s.rows << " bf16 " << bf16);
            const float cut = -1e-3f, budget = 1e-5f;
            const int64_t n = rows * cols;
            std::vector<int64_t> cpu(static_cast<size_t>(n));
            const int64_t found = kern::flip_select_cpu(s.inputs(bf16), cut, budget, cpu.data(), n);
            cpu.resize(static_cast<size_t>(found));
            REQUIRE(found > 4);
            for (const int64_t capacity : {n, found / 3}) {
                Buffer<int64_t> out(static_cast<size_t>(capacity)), count(1);
                Buffer<float> dcut(1, &cut);
                kern::flip_select_cuda(dev.inputs(s, bf16), dcut.ptr, budget, out.ptr, capacity, count.ptr, nullptr);
                CUDA_OK(cudaDeviceSynchronize());
                CHECK(count.host()[0] == found);
                auto got = out.host();
                got.resize(static_cast<size_t>(std::min(capacity, found)));
                std::sort(got.begin(), got.end());
                if (capacity >= found) {
                    CHECK(got == cpu);
                } else {
                    CHECK(std::set<int64_t>(got.begin(), got.end()).size() == got.size());
                    CHECK(std::includes(cpu.begin(), cpu.end(), got.begin(), got.end()));
                }
            }
        }
    }
}
