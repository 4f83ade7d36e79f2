#include <ctq/kernels/non_finite.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace ctq::kern {

NonFiniteCount scan_non_finite_cpu(const float* w, int64_t n) {
    NonFiniteCount total;
    std::mutex mu;
    parallel_for(n, 1, [&](int64_t b, int64_t e) {
        NonFiniteCount part;
        for (int64_t i = b; i < e; ++i) {
            if (std::isfinite(w[i])) continue;
            if (part.count++ == 0) part.first = i;
        }
        if (part.count == 0) return;
        std::lock_guard<std::mutex> lock(mu);
        total.first = total.count == 0 ? part.first : std::min(total.first, part.first);
        total.count += part.count;
    });
    return total;
}

}  // namespace ctq::kern
