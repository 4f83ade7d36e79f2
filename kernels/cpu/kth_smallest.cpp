// CPU twin of kernels/cuda/kth_smallest.cu: the same order (float_order_key), so the same bits.
#include <ctq/kernels/kth_smallest.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ctq::kern {

float kth_smallest_cpu(const float* x, int64_t n, int64_t k) {
    if (k < 1 || k > n) throw std::invalid_argument("kth_smallest: k must lie in [1, n]");
    std::vector<uint32_t> keys(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, x + i, sizeof bits);
        keys[i] = float_order_key(bits);
    }
    std::nth_element(keys.begin(), keys.begin() + (k - 1), keys.end());
    const uint32_t bits = float_from_order_key(keys[k - 1]);
    float out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
}

}  // namespace ctq::kern
