// GPU machine only: learned rounding with the real FP8 and INT8 plugins on a CUDA device, where
// the layer's grid operations run on the device (engine/device_grid.cpp). The result meets the
// target on the codes as written (measured on the CPU, independently of the engine), is the
// same on a second run, leaves the scales alone, and the CPU-side layout reproduces the
// engine's judged values from the codes it returned.
#include "engine/learned_rounding.hpp"
#include "engine/quality.hpp"

#include "../engine_fixtures.hpp"

#include <doctest/doctest.h>

using namespace ctq;

TEST_CASE("search on CUDA with the plugins' grid kernels meets the target, deterministically") {
    if (!torch::cuda::is_available()) {
        MESSAGE("skipped: this LibTorch has no usable CUDA device");
        return;
    }
    struct Case {
        const char* plugin;
        const char* family;
        const char* mode_name;
        ctq_scaling_mode mode;
    };
    const Case cases[] = {
        {"ctq_fp8.so", "fp8", "tensor", CTQ_SCALING_TENSOR}, {"ctq_fp8.so", "fp8", "block", CTQ_SCALING_BLOCK},
        {"ctq_int8.so", "int8", "row", CTQ_SCALING_ROW},     {"ctq_int8.so", "int8", "block", CTQ_SCALING_BLOCK},
    };
    const int64_t rows = 768, cols = 1536, k = 64;
    const auto w = test::structured_weight(rows, cols, 31);
    Registry registry;
    for (const auto& c : cases) {
        CAPTURE(c.family);
        CAPTURE(c.mode_name);
        if (!registry.layout_for(c.family, c.mode_name)) registry.load_file(test::plugin_file(c.plugin));
        const auto* desc = registry.layout_for(c.family, c.mode_name);
        REQUIRE(desc);
        REQUIRE((desc->flags & CTQ_LAYOUT_SUPPORTS_CUDA) != 0);
        ctq_layout_params params{};
        params.struct_size = sizeof params;
        params.scaling_mode = c.mode;
        params.block_size = 64;
        LayoutOps ops(*desc, params, "cuda_grid.weight");
        auto rtn = ops.allocate(rows, cols);
        ops.quantize(w.data(), rtn);
        LearnedOptions o;
        o.min_k = k;
        o.top_p = 0.01;
        o.seed = 3;
        o.device = "cuda";
        auto q = rtn, again = rtn;
        const auto stats = learn_rounding(ops, w.data(), q, o, registry, {});
        const auto stats_again = learn_rounding(ops, w.data(), again, o, registry, {});
        CHECK(q.buffers == again.buffers);
        CHECK(stats.iterations == stats_again.iterations);
        CHECK(q.buffers[1] == rtn.buffers[1]);  // scales untouched

        std::vector<float> a(rows * cols), b(rows * cols);
        ops.dequantize(rtn, a.data());
        ops.dequantize(q, b.data());
        const double sub_rtn = subspace_error(w.data(), a.data(), rows, cols, k, o.seed, o.full_matrix);
        const double sub = subspace_error(w.data(), b.data(), rows, cols, k, o.seed, o.full_matrix);
        INFO("subspace " << sub / sub_rtn << "x, rounds " << stats.iterations);
        CHECK_FALSE(stats.kept_rtn);
        CHECK(sub <= 0.6 * sub_rtn);
        CHECK(relative_full_error(w.data(), b.data(), rows, cols) <=
              1.005 * relative_full_error(w.data(), a.data(), rows, cols));
        // The engine judged the values its device decoded; the host decodes the same codes.
        int64_t changed = 0;
        for (size_t i = 0; i < a.size(); ++i) changed += a[i] != b[i];
        CHECK(stats.changed == changed);
        // Same seed, Gram (CUDA) vs Householder (CPU) factorization: the same subspace.
        CHECK(stats.subspace == doctest::Approx(sub).epsilon(2e-3));
    }
}
