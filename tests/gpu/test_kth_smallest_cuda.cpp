// GPU machine only: the k-th smallest CUDA radix select gives the CPU twin's bits, on the search's
// sample size and on the hard cases (ties, signed zeros, infinities, one value, tiny inputs), and
// leaves its scratch ready for the next call on the same stream.
#include "kth_smallest_fixture.hpp"

#include <ctq/kernels/kth_smallest.hpp>

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cstring>

using namespace ctq;

#define CUDA_OK(x) REQUIRE((x) == cudaSuccess)

TEST_CASE("k-th smallest: CUDA gives the CPU twin's bits") {
    void* scratch = nullptr;
    float* out = nullptr;
    CUDA_OK(cudaMalloc(&scratch, kern::kth_smallest_scratch_bytes()));
    CUDA_OK(cudaMalloc(&out, sizeof(float)));
    for (const int64_t n : {int64_t(1), int64_t(3), int64_t(777), int64_t(1) << 20, (int64_t(1) << 20) + 13}) {
        for (auto& c : test::kth_cases(n, 5)) {
            float* x = nullptr;
            CUDA_OK(cudaMalloc(&x, n * sizeof(float)));
            CUDA_OK(cudaMemcpy(x, c.x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
            for (const int64_t k : test::kth_ranks(n)) {
                CAPTURE(c.name);
                CAPTURE(n);
                CAPTURE(k);
                kern::kth_smallest_cuda(x, n, k, out, scratch, nullptr);
                float got = 0;
                CUDA_OK(cudaMemcpy(&got, out, sizeof got, cudaMemcpyDeviceToHost));
                const float want = kern::kth_smallest_cpu(c.x.data(), n, k);
                CHECK(std::memcmp(&got, &want, sizeof got) == 0);
            }
            cudaFree(x);
        }
    }
    cudaFree(out);
    cudaFree(scratch);
}
