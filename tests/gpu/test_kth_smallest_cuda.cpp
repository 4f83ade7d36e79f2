// GPU machine only: the k-th smallest CUDA radix select gives the CPU twin's bits, on the search's
// sample size and on the hard cases (ties, signed zeros, infinities, one value, tiny inputs), and
// leaves its scratch ready for the next call on the same stream.
#include "cuda_buffer.hpp"
#include "kth_smallest_fixture.hpp"

#include <ctq/kernels/kth_smallest.hpp>

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cstring>

using namespace ctq;

using test::Buffer;

TEST_CASE("k-th smallest: CUDA gives the CPU twin's bits") {
    Buffer<unsigned char> scratch(kern::kth_smallest_scratch_bytes());
    Buffer<float> out(1);
    for (const int64_t n : {int64_t(1), int64_t(3), int64_t(777), int64_t(1) << 20, (int64_t(1) << 20) + 13}) {
        for (auto& c : test::kth_cases(n, 5)) {
            const Buffer<float> x(static_cast<size_t>(n), c.x.data());
            for (const int64_t k : test::kth_ranks(n)) {
                CAPTURE(c.name);
                CAPTURE(n);
                CAPTURE(k);
                kern::kth_smallest_cuda(x.ptr, n, k, out.ptr, scratch.ptr, nullptr);
                const float got = out.host()[0];
                const float want = kern::kth_smallest_cpu(c.x.data(), n, k);
                CHECK(std::memcmp(&got, &want, sizeof got) == 0);
            }
        }
    }
}
