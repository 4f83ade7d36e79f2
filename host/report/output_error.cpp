#include "report/output_error.hpp"

#include "quant/layout_ops.hpp"

#include <ctq/kernels/int8_gemm.hpp>
#include <ctq/kernels/parallel.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace ctq {

namespace {

// y[t, n] = sum_k x[t, k] w[n, k], accumulated in double so the reference output is exact
// enough to judge float32 paths against.
std::vector<double> linear(const std::vector<float>& x, const float* w, int64_t tokens, int64_t rows, int64_t cols) {
    std::vector<double> y(static_cast<size_t>(tokens * rows));
    kern::parallel_for(rows, tokens * cols, [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n)
            for (int64_t t = 0; t < tokens; ++t) {
                double acc = 0;
                const float* xr = &x[t * cols];
                const float* wr = w + n * cols;
                for (int64_t k = 0; k < cols; ++k) acc += static_cast<double>(xr[k]) * wr[k];
                y[t * rows + n] = acc;
            }
    });
    return y;
}

template <class Y>
double relative(const std::vector<double>& ref, const Y& y) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = static_cast<double>(y[i]) - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return den > 0 ? std::sqrt(num / den) : (num > 0 ? INFINITY : 0.0);
}

}  // namespace

OutputError output_error(const float* w, const float* wq, int64_t rows, int64_t cols, int64_t tokens, uint64_t seed,
                         const std::string& format, const QuantizedLayer& q, int64_t block) {
    std::mt19937_64 gen(seed ^ static_cast<uint64_t>(cols));
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(tokens * cols));
    for (auto& v : x) v = normal(gen);
    const auto ref = linear(x, w, tokens, rows, cols);
    OutputError e;
    e.weight_only = relative(ref, linear(x, wq, tokens, rows, cols));
    if (format == "int8_blockwise" && q.buffers.size() >= 2) {
        kern::Int8LinearShape s{tokens, cols, rows, block > 0 ? block : 128};
        std::vector<float> y(static_cast<size_t>(tokens * rows));
        kern::int8_block_linear_cpu(x.data(), reinterpret_cast<const int8_t*>(q.buffers[0].data()),
                                    reinterpret_cast<const float*>(q.buffers[1].data()), nullptr, s, y.data());
        e.int8_gemm = relative(ref, y);
    }
    return e;
}

}  // namespace ctq
