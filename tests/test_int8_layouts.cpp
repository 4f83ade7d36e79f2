// The ctq_int8 plugin through the host's Registry and LayoutOps: specs, .comfy_quant bytes,
// zero weights, errors, ConvRot, grid operations.
#include "core/error.hpp"
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/int8.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

struct Plugin {
    ctq::Registry reg;
    Plugin() { REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_int8.so")); }
    ctq::LayoutOps ops(const char* layout, ctq_layout_params p) const {
        const ctq_layout_desc* d = reg.layout(layout);
        REQUIRE(d != nullptr);
        return ctq::LayoutOps(*d, p, "layer");
    }
};

ctq_layout_params params(int32_t mode, int64_t block = 0, int32_t convrot = 0, int64_t group = 0,
                         int32_t fpmm = 0) {
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = mode;
    p.block_size = block;
    p.convrot = convrot;
    p.convrot_group_size = group;
    p.full_precision_mm = fpmm;
    return p;
}

std::vector<float> gaussian(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return v;
}

std::vector<int64_t> shape(const ctq_tensor_spec& s) { return {s.shape, s.shape + s.ndim}; }
const float* floats(const ctq::QuantizedLayer& q, int i) {
    return reinterpret_cast<const float*>(q.buffers[i].data());
}
const int8_t* codes(const ctq::QuantizedLayer& q) {
    return reinterpret_cast<const int8_t*>(q.buffers[0].data());
}

}  // namespace

TEST_CASE("int8 layouts register with their traits") {
    Plugin p;
    const ctq_layout_desc* b = p.reg.layout("int8_blockwise");
    const ctq_layout_desc* t = p.reg.layout("int8_tensorwise");
    REQUIRE(b);
    REQUIRE(t);
    CHECK(std::string(b->family) == "int8");
    CHECK(std::string(b->scaling_modes) == "block");
    CHECK(std::string(t->scaling_modes) == "tensor,row");
    CHECK((t->flags & CTQ_LAYOUT_COMFY_NATIVE) != 0);
    CHECK((b->flags & CTQ_LAYOUT_COMFY_NATIVE) == 0);
    CHECK((b->flags & t->flags & CTQ_LAYOUT_SUPPORTS_LEARNED) != 0);
    CHECK(p.reg.layout_for("int8", "row") == t);
    CHECK(p.reg.layout_for("int8", "block") == b);
}

TEST_CASE(".comfy_quant bytes follow the reference's json.dumps key order") {
    Plugin p;
    CHECK(p.ops("int8_blockwise", params(CTQ_SCALING_BLOCK)).comfy_quant_json() ==
          R"({"format": "int8_blockwise", "group_size": 128})");
    CHECK(p.ops("int8_blockwise", params(CTQ_SCALING_BLOCK, 64, 0, 0, 1)).comfy_quant_json() ==
          R"({"format": "int8_blockwise", "group_size": 64, "full_precision_matrix_mult": true})");
    CHECK(p.ops("int8_tensorwise", params(CTQ_SCALING_TENSOR)).comfy_quant_json() ==
          R"({"format": "int8_tensorwise"})");
    CHECK(p.ops("int8_tensorwise", params(CTQ_SCALING_ROW)).comfy_quant_json() ==
          R"({"format": "int8_tensorwise", "per_row": true})");
    CHECK(p.ops("int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1)).comfy_quant_json() ==
          R"({"format": "int8_tensorwise", "convrot": true, "convrot_groupsize": 256, "per_row": true})");
    CHECK(p.ops("int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 64, 1)).comfy_quant_json() ==
          R"({"format": "int8_tensorwise", "full_precision_matrix_mult": true, "convrot": true, "convrot_groupsize": 64, "per_row": true})");
}

TEST_CASE("output specs per mode, partial tiles included") {
    Plugin p;
    auto b = p.ops("int8_blockwise", params(CTQ_SCALING_BLOCK)).specs(300, 130);
    REQUIRE(b.size() == 3);
    CHECK(std::string(b[0].suffix) == ".weight");
    CHECK(b[0].dtype == CTQ_DTYPE_I8);
    CHECK(shape(b[1]) == std::vector<int64_t>{3, 2});
    CHECK(std::string(b[2].suffix) == ".input_scale");
    CHECK(b[2].ndim == 0);
    auto t = p.ops("int8_tensorwise", params(CTQ_SCALING_TENSOR)).specs(300, 130);
    REQUIRE(t.size() == 2);
    CHECK(t[1].ndim == 0);
    auto r = p.ops("int8_tensorwise", params(CTQ_SCALING_ROW)).specs(300, 130);
    CHECK(shape(r[1]) == std::vector<int64_t>{300, 1});
    CHECK_THROWS_AS(p.ops("int8_tensorwise", params(CTQ_SCALING_BLOCK)).specs(4, 4), ctq::CtqError);
    CHECK_THROWS_AS(p.ops("int8_blockwise", params(CTQ_SCALING_ROW)).specs(4, 4), ctq::CtqError);
}

TEST_CASE("all-zero weight in every mode: codes 0, scales 1") {
    Plugin p;
    const std::vector<float> zero(256 * 256, 0.f);
    for (auto [layout, prm] : {std::pair{"int8_blockwise", params(CTQ_SCALING_BLOCK, 100)},
                               std::pair{"int8_tensorwise", params(CTQ_SCALING_TENSOR)},
                               std::pair{"int8_tensorwise", params(CTQ_SCALING_ROW)},
                               std::pair{"int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1)}}) {
        const auto ops = p.ops(layout, prm);
        auto q = ops.allocate(256, 256);
        ops.quantize(zero.data(), q);
        for (uint8_t c : q.buffers[0]) REQUIRE(c == 0);
        for (size_t i = 0; i < q.buffers[1].size() / 4; ++i) REQUIRE(floats(q, 1)[i] == 1.f);
        std::vector<float> back(zero.size(), -1.f);
        ops.dequantize(q, back.data());
        for (float v : back) REQUIRE(v == 0.f);
    }
}

TEST_CASE("non-finite weights are refused with count and first position") {
    Plugin p;
    std::vector<float> w(5 * 7, 1.f);
    w[2 * 7 + 3] = std::numeric_limits<float>::quiet_NaN();
    w[4 * 7 + 1] = -std::numeric_limits<float>::infinity();
    const auto ops = p.ops("int8_blockwise", params(CTQ_SCALING_BLOCK));
    auto q = ops.allocate(5, 7);
    try {
        ops.quantize(w.data(), q);
        FAIL("expected an error");
    } catch (const ctq::CtqError& e) {
        const std::string m = e.what();
        CHECK(m.find("2 non-finite") != std::string::npos);
        CHECK(m.find("[2, 3]") != std::string::npos);
        CHECK(m.find("status 3") != std::string::npos);  // CTQ_ERR_NON_FINITE
    }
}

TEST_CASE("ConvRot: stored weight is W·H^T quantized per row, dequantize rotates back") {
    Plugin p;
    const int64_t rows = 48, cols = 512;
    const std::vector<float> w = gaussian(rows * cols, 5);
    const auto ops = p.ops("int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 256));
    auto q = ops.allocate(rows, cols);
    ops.quantize(w.data(), q);
    // Same bits as rotating by hand and quantizing per row without rotation.
    std::vector<float> rot = w;
    ctq::kern::hadamard_rotate_rows_cpu(rot.data(), rows, cols, 256);
    const auto plain = p.ops("int8_tensorwise", params(CTQ_SCALING_ROW));
    auto q2 = plain.allocate(rows, cols);
    plain.quantize(rot.data(), q2);
    CHECK(q.buffers[0] == q2.buffers[0]);
    CHECK(q.buffers[1] == q2.buffers[1]);
    // Dequantized weight in the original domain, within int8 row error.
    std::vector<float> back(w.size());
    ops.dequantize(q, back.data());
    double num = 0, den = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        num += double(back[i] - w[i]) * (back[i] - w[i]);
        den += double(w[i]) * w[i];
    }
    CHECK(std::sqrt(num / den) < 0.02);
}

TEST_CASE("ConvRot refuses groups that do not fit") {
    Plugin p;
    CHECK_THROWS_WITH_AS(p.ops("int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 256)).specs(8, 200),
                         doctest::Contains("dividing in_features 200"), ctq::CtqError);
    CHECK_THROWS_AS(p.ops("int8_tensorwise", params(CTQ_SCALING_ROW, 0, 1, 128)).specs(8, 256),
                    ctq::CtqError);
    CHECK_THROWS_AS(p.ops("int8_tensorwise", params(CTQ_SCALING_TENSOR, 0, 1, 256)).specs(8, 256),
                    ctq::CtqError);
    CHECK_THROWS_AS(p.ops("int8_blockwise", params(CTQ_SCALING_BLOCK, 0, 1, 256)).specs(8, 256),
                    ctq::CtqError);
}

TEST_CASE("grid operations: bracket, encode_values, expand_scale") {
    Plugin p;
    const int64_t rows = 70, cols = 90;
    const std::vector<float> w = gaussian(rows * cols, 9);
    for (auto prm : {params(CTQ_SCALING_BLOCK, 32), params(CTQ_SCALING_ROW), params(CTQ_SCALING_TENSOR)}) {
        const auto ops = p.ops(prm.scaling_mode == CTQ_SCALING_BLOCK ? "int8_blockwise" : "int8_tensorwise", prm);
        auto q = ops.allocate(rows, cols);
        ops.quantize(w.data(), q);
        std::vector<float> scale(w.size()), deq(w.size()), lo(w.size()), hi(w.size());
        ops.expand_scale(q, scale.data());
        ops.dequantize(q, deq.data());
        for (size_t i = 0; i < w.size(); ++i) REQUIRE(deq[i] == float(codes(q)[i]) * scale[i]);
        // Targets: the weight itself, plus out-of-range and on-grid values.
        std::vector<float> x = w;
        x[0] = 1e6f;
        x[1] = -1e6f;
        x[2] = deq[2];
        ops.bracket(x.data(), q, lo.data(), hi.data());
        CHECK(lo[0] == hi[0]);
        CHECK(lo[0] == 127.f * scale[0]);
        CHECK(lo[1] == hi[1]);
        CHECK(lo[1] == -127.f * scale[1]);
        CHECK(lo[2] == deq[2]);
        CHECK(hi[2] == deq[2]);
        for (size_t i = 3; i < w.size(); ++i) {
            // inside the grid, or just past its end (the amax element of a row) and saturated
            const bool saturated = lo[i] == hi[i] && std::fabs(lo[i]) == 127.f * scale[i];
            REQUIRE((saturated || (lo[i] <= x[i] && x[i] <= hi[i])));
            REQUIRE((deq[i] == lo[i] || deq[i] == hi[i]));  // RTN picks one of the two
        }
        // encode_values: the grid values of `hi` give back codes whose values are `hi`.
        auto q2 = q;
        ops.encode_values(hi.data(), q2);
        std::vector<float> deq2(w.size());
        ops.dequantize(q2, deq2.data());
        for (size_t i = 0; i < w.size(); ++i) REQUIRE(deq2[i] == hi[i]);
        ops.encode_values(deq.data(), q2);
        CHECK(q2.buffers[0] == q.buffers[0]);
    }
}

TEST_CASE("grid operations refuse non-finite targets") {
    Plugin p;
    const auto ops = p.ops("int8_tensorwise", params(CTQ_SCALING_ROW));
    std::vector<float> w = gaussian(4 * 8, 3), lo(w.size()), hi(w.size());
    auto q = ops.allocate(4, 8);
    ops.quantize(w.data(), q);
    w[9] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(ops.bracket(w.data(), q, lo.data(), hi.data()), doctest::Contains("[1, 1]"),
                         ctq::CtqError);
    CHECK_THROWS_AS(ops.encode_values(w.data(), q), ctq::CtqError);
}
