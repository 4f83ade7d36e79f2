// GPU machine only: the sum-of-squares CUDA kernel gives the CPU twin's bits, with 16-byte loads
// (an aligned start) and without (a start one float in), on lengths that end mid-quad.
#include "cuda_buffer.hpp"

#include <ctq/kernels/sum_squares.hpp>

#include <cstring>
#include <random>
#include <vector>

using namespace ctq;
using test::Buffer;

TEST_CASE("sum of squares: CUDA gives the CPU twin's bits") {
    Buffer<unsigned char> scratch(kern::sum_squares_scratch_bytes());
    Buffer<double> out(1);
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 1e-2f);
    for (const int64_t n : {int64_t(0), int64_t(1), int64_t(6), int64_t(379456), 4 * kern::kSumSquaresLanes + 5,
                            int64_t(18432) * 3072}) {
        std::vector<float> x(static_cast<size_t>(n + 1));
        for (auto& v : x) v = normal(rng);
        const Buffer<float> dev(x.size(), x.data());
        for (const int64_t offset : {0, 1}) {
            CAPTURE(n);
            CAPTURE(offset);
            kern::sum_squares_cuda(dev.ptr + offset, n, out.ptr, scratch.ptr, nullptr);
            const double got = out.host()[0];
            const double want = kern::sum_squares_cpu(x.data() + offset, n);
            CHECK(std::memcmp(&got, &want, sizeof got) == 0);
        }
    }
}
