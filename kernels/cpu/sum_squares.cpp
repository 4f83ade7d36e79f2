// CPU twin of kernels/cuda/sum_squares.cu: the same lanes, the same trees, so the same bits.
#include <ctq/kernels/sum_squares.hpp>

#include <algorithm>
#include <vector>

namespace ctq::kern {

namespace {

// Pairwise, as a block's threads add in shared memory: a[t] += a[t + s] for s = size/2 .. 1.
double tree_sum(double* a, int64_t size) {
    for (int64_t s = size / 2; s > 0; s /= 2)
        for (int64_t t = 0; t < s; ++t) a[t] += a[t + s];
    return a[0];
}

}  // namespace

double sum_squares_cpu(const float* x, int64_t n) {
    std::vector<double> lane(static_cast<size_t>(kSumSquaresLanes), 0.0);
    const int64_t quads = (n + 3) / 4;
    for (int64_t q = 0; q < quads; ++q) {
        double& acc = lane[static_cast<size_t>(q % kSumSquaresLanes)];
        for (int64_t i = 4 * q; i < std::min(4 * q + 4, n); ++i) acc += double(x[i]) * double(x[i]);
    }
    std::vector<double> partial(kSumSquaresBlocks);
    for (int b = 0; b < kSumSquaresBlocks; ++b)
        partial[b] = tree_sum(lane.data() + int64_t(b) * kSumSquaresThreads, kSumSquaresThreads);
    return tree_sum(partial.data(), kSumSquaresBlocks);
}

}  // namespace ctq::kern
