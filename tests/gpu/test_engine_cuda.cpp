// Learned rounding on a CUDA device (torch device "cuda"): the search meets the same target as
// on the CPU and the result is judged on the written codes. Needs a CUDA LibTorch; with a
// CPU-only LibTorch the case reports itself skipped.
#include "engine/learned_rounding.hpp"
#include "engine/quality.hpp"

#include "../engine_fixtures.hpp"

#include <doctest/doctest.h>

using namespace ctq;

TEST_CASE("search on CUDA meets the target and agrees with the CPU judge") {
    if (!torch::cuda::is_available()) {
        MESSAGE("skipped: this LibTorch has no usable CUDA device");
        return;
    }
    Registry registry;
    const LayoutOps ops = test::row_int8_ops("cuda.weight");
    const int64_t rows = 512, cols = 768, k = 32;
    const auto w = test::structured_weight(rows, cols, 41);
    auto rtn = ops.allocate(rows, cols);
    ops.quantize(w.data(), rtn);
    LearnedOptions o;
    o.min_k = k;
    o.top_p = 0.01;
    o.seed = 5;
    o.device = "cuda";
    auto q = rtn;
    const auto stats = learn_rounding(ops, w.data(), q, o, registry, {});
    std::vector<float> a(rows * cols), b(rows * cols);
    ops.dequantize(rtn, a.data());
    ops.dequantize(q, b.data());
    const double sub_rtn = subspace_error(w.data(), a.data(), rows, cols, k, o.seed, o.full_matrix);
    const double sub = subspace_error(w.data(), b.data(), rows, cols, k, o.seed, o.full_matrix);
    CHECK_FALSE(stats.kept_rtn);
    CHECK(sub <= 0.6 * sub_rtn);
    CHECK(relative_full_error(w.data(), b.data(), rows, cols) <=
          1.005 * relative_full_error(w.data(), a.data(), rows, cols));
    // The CPU recomputation of the same seeded subspace agrees with what the engine measured.
    CHECK(stats.subspace == doctest::Approx(sub).epsilon(1e-3));

    o.method = "original";
    o.num_iter = 100;
    auto r = rtn;
    const auto relaxed = learn_rounding(ops, w.data(), r, o, registry, {});
    CHECK(relaxed.subspace <= relaxed.rtn_subspace);
}

TEST_CASE("the certified floor on CUDA matches the CPU's and lies below what the search reached") {
    if (!torch::cuda::is_available()) {
        MESSAGE("skipped: this LibTorch has no usable CUDA device");
        return;
    }
    Registry registry;
    const LayoutOps ops = test::row_int8_ops("bound.weight");
    // Wide k beside the layer, so that the floor is well above 0 and says something.
    const int64_t rows = 384, cols = 256, k = 128;
    const auto w = test::structured_weight(rows, cols, 43);
    auto rtn = ops.allocate(rows, cols);
    ops.quantize(w.data(), rtn);
    LearnedOptions o;
    o.min_k = k;
    o.top_p = 0.01;
    o.subspace_bound = true;
    LearnedStats by_device[2];
    const char* devices[2] = {"cpu", "cuda"};
    for (int i = 0; i < 2; ++i) {
        o.device = devices[i];
        auto q = rtn;
        by_device[i] = learn_rounding(ops, w.data(), q, o, registry, {});
        CAPTURE(devices[i]);
        CHECK(by_device[i].subspace_bound > 0.2);
        CHECK(by_device[i].subspace_bound <= by_device[i].subspace / by_device[i].rtn_subspace + 1e-6);
    }
    // Same relaxation, different arithmetic order: each stops within 0.2 % of its certificate.
    CHECK(by_device[1].subspace_bound == doctest::Approx(by_device[0].subspace_bound).epsilon(1e-2));
}
