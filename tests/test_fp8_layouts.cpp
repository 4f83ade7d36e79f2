// The fp8 plugin's four layouts through the host's registry and LayoutOps: specs, JSON bytes,
// round-to-nearest against a naive per-element reimplementation, all-zero and non-finite
// weights, the grid operations and the dequantization error bound.
#include "core/error.hpp"
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <ctq/kernels/fp8_codec.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

const ctq::Registry& registry() {
    static ctq::Registry reg;
    static const bool loaded = reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_fp8.so");
    REQUIRE_MESSAGE(loaded, "build the ctq_fp8 plugin first");
    return reg;
}

const std::string kLayouts[] = {"float8_e4m3fn", "float8_e4m3fn_rowwise", "float8_e4m3fn_blockwise",
                                "float8_e5m2"};

ctq_layout_params params(ctq_scaling_mode mode, int64_t block = 0) {
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = mode;
    p.block_size = block;
    return p;
}

ctq_scaling_mode mode_of(const std::string& layout) {
    if (layout == "float8_e4m3fn_rowwise") return CTQ_SCALING_ROW;
    if (layout == "float8_e4m3fn_blockwise") return CTQ_SCALING_BLOCK;
    return CTQ_SCALING_TENSOR;
}

ctq::LayoutOps ops_for(const std::string& layout, int64_t block = 0) {
    const ctq_layout_desc* d = registry().layout(layout);
    REQUIRE(d != nullptr);
    return ctq::LayoutOps(*d, params(mode_of(layout), block), "test." + layout);
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

std::vector<float> random_weight(int64_t rows, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (auto& x : w) x = normal(rng);
    // A few outliers, exact zeros and negative zeros, as real weights have.
    for (size_t i = 0; i < w.size(); i += 97) w[i] *= 40.0f;
    for (size_t i = 5; i < w.size(); i += 211) w[i] = (i & 1) ? -0.0f : 0.0f;
    return w;
}

struct Grid {
    int64_t tile_rows, tile_cols;
};

Grid grid_of(const std::string& layout, int64_t rows, int64_t cols, int64_t block) {
    if (layout == "float8_e4m3fn_rowwise") return {1, cols};
    if (layout == "float8_e4m3fn_blockwise") return {block, block};
    return {rows, cols};
}

// Straight from golden/README.md, one element at a time, no shared tiling code.
template <class F>
void naive_quantize(const std::vector<float>& w, int64_t rows, int64_t cols, Grid g, bool divide,
                    std::vector<uint8_t>& codes, std::vector<float>& scales) {
    const int64_t down = (rows + g.tile_rows - 1) / g.tile_rows, across = (cols + g.tile_cols - 1) / g.tile_cols;
    std::vector<float> amax(static_cast<size_t>(down * across), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            float& a = amax[(r / g.tile_rows) * across + c / g.tile_cols];
            a = std::max(a, std::fabs(w[r * cols + c]));
        }
    std::vector<float> qscale(amax.size());
    scales.resize(amax.size());
    for (size_t i = 0; i < amax.size(); ++i) {
        const float a = std::max(amax[i], 1e-12f);
        qscale[i] = divide ? F::kMax / a : (1.0f / a) * F::kMax;
        scales[i] = 1.0f / qscale[i];
    }
    codes.resize(w.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const float y = std::min(std::max(w[r * cols + c] * qscale[(r / g.tile_rows) * across + c / g.tile_cols], -F::kMax), F::kMax);
            codes[r * cols + c] = ctq::kern::fp8_encode<F>(y);
        }
}

std::vector<float> scale_of(const ctq::QuantizedLayer& q) {
    std::vector<float> s(q.buffers[1].size() / 4);
    std::memcpy(s.data(), q.buffers[1].data(), q.buffers[1].size());
    return s;
}

struct Shape {
    int64_t rows, cols;
};
const Shape kShapes[] = {{1, 1}, {1, 7}, {5, 1}, {64, 64}, {130, 200}, {256, 200}, {67, 129}, {3, 1000}};

}  // namespace

TEST_CASE("fp8 plugin registers four layouts with their facts") {
    const auto& reg = registry();
    struct Expect {
        const char* name;
        const char* family;
        const char* modes;
        ctq_dtype storage;
        uint32_t flags;
    };
    const Expect expect[] = {
        {"float8_e4m3fn", "fp8", "tensor", CTQ_DTYPE_F8_E4M3, CTQ_LAYOUT_COMFY_NATIVE},
        {"float8_e4m3fn_rowwise", "fp8", "row", CTQ_DTYPE_F8_E4M3, 0},
        {"float8_e4m3fn_blockwise", "fp8", "block", CTQ_DTYPE_F8_E4M3, 0},
        {"float8_e5m2", "fp8_e5m2", "tensor", CTQ_DTYPE_F8_E5M2, CTQ_LAYOUT_COMFY_NATIVE | CTQ_LAYOUT_NEEDS_FPMM},
    };
    for (const auto& e : expect) {
        const std::string name = e.name;
        CAPTURE(name);
        const ctq_layout_desc* d = reg.layout(e.name);
        REQUIRE(d != nullptr);
        CHECK(std::string(d->family) == e.family);
        CHECK(std::string(d->scaling_modes) == e.modes);
        CHECK(d->storage_dtype == e.storage);
        const uint32_t fixed = CTQ_LAYOUT_COMFY_NATIVE | CTQ_LAYOUT_NEEDS_FPMM | CTQ_LAYOUT_SUPPORTS_LEARNED;
        CHECK((d->flags & fixed) == (e.flags | CTQ_LAYOUT_SUPPORTS_LEARNED));
    }
    CHECK(std::string(reg.layout_for("fp8", "tensor")->name) == "float8_e4m3fn");
    CHECK(std::string(reg.layout_for("fp8", "row")->name) == "float8_e4m3fn_rowwise");
    CHECK(std::string(reg.layout_for("fp8", "block")->name) == "float8_e4m3fn_blockwise");
}

TEST_CASE("fp8 output specs: codes [M,N]; scales 0-d, [M] or ceil-shaped tiles") {
    auto shape_of = [](const ctq_tensor_spec& s) { return std::vector<int64_t>(s.shape, s.shape + s.ndim); };
    const auto t = ops_for("float8_e4m3fn").specs(130, 200);
    REQUIRE(t.size() == 2);
    CHECK(std::string(t[0].suffix) == ".weight");
    CHECK(t[0].dtype == CTQ_DTYPE_F8_E4M3);
    CHECK(shape_of(t[0]) == std::vector<int64_t>{130, 200});
    CHECK(std::string(t[1].suffix) == ".weight_scale");
    CHECK(t[1].dtype == CTQ_DTYPE_F32);
    CHECK(t[1].ndim == 0);
    CHECK(shape_of(ops_for("float8_e4m3fn_rowwise").specs(130, 200)[1]) == std::vector<int64_t>{130});
    CHECK(shape_of(ops_for("float8_e4m3fn_blockwise", 64).specs(130, 200)[1]) == std::vector<int64_t>{3, 4});
    CHECK(shape_of(ops_for("float8_e4m3fn_blockwise", 0).specs(256, 200)[1]) == std::vector<int64_t>{2, 2});
    CHECK(ops_for("float8_e5m2").specs(3, 4)[0].dtype == CTQ_DTYPE_F8_E5M2);
}

TEST_CASE("fp8 .comfy_quant bytes are Python json.dumps output") {
    CHECK(ops_for("float8_e4m3fn").comfy_quant_json() == R"({"format": "float8_e4m3fn"})");
    CHECK(ops_for("float8_e4m3fn_rowwise").comfy_quant_json() == R"({"format": "float8_e4m3fn_rowwise"})");
    CHECK(ops_for("float8_e4m3fn_blockwise", 64).comfy_quant_json() ==
          R"({"format": "float8_e4m3fn_blockwise", "group_size": 64})");
    CHECK(ops_for("float8_e4m3fn_blockwise", 0).comfy_quant_json() ==
          R"({"format": "float8_e4m3fn_blockwise", "group_size": 128})");
    CHECK(ops_for("float8_e5m2").comfy_quant_json() ==
          R"({"format": "float8_e5m2", "full_precision_matrix_mult": true})");
    ctq_layout_params p = params(CTQ_SCALING_BLOCK, 32);
    p.full_precision_mm = 1;
    ctq::LayoutOps fpmm(*registry().layout("float8_e4m3fn_blockwise"), p, "x");
    CHECK(fpmm.comfy_quant_json() ==
          R"({"format": "float8_e4m3fn_blockwise", "group_size": 32, "full_precision_matrix_mult": true})");
}

TEST_CASE("fp8 quantize equals a naive per-element reimplementation, partial tiles included") {
    for (const std::string& layout : kLayouts)
        for (const Shape s : kShapes)
            for (int64_t block : {int64_t(64), int64_t(0)}) {
                CAPTURE(layout);
                CAPTURE(s.rows);
                CAPTURE(s.cols);
                CAPTURE(block);
                const auto w = random_weight(s.rows, s.cols, uint64_t(s.rows * 1000 + s.cols));
                const auto ops = ops_for(layout, block);
                auto q = ops.allocate(s.rows, s.cols);
                ops.quantize(w.data(), q);
                std::vector<uint8_t> codes;
                std::vector<float> scales;
                const Grid g = grid_of(layout, s.rows, s.cols, block ? block : 128);
                // Every layout: PyTorch evaluates `max / amax_tensor` as reciprocal(amax) * max.
                const bool divide = false;
                if (layout == "float8_e5m2")
                    naive_quantize<ctq::kern::Fp8E5M2>(w, s.rows, s.cols, g, divide, codes, scales);
                else
                    naive_quantize<ctq::kern::Fp8E4M3Fn>(w, s.rows, s.cols, g, divide, codes, scales);
                CHECK(q.buffers[0] == codes);
                const auto got = scale_of(q);
                REQUIRE(got.size() == scales.size());
                int64_t scale_mismatches = 0;
                for (size_t i = 0; i < got.size(); ++i) scale_mismatches += bits(got[i]) != bits(scales[i]);
                CHECK(scale_mismatches == 0);
            }
}

TEST_CASE("fp8 all-zero weight: codes 0 and scales 1 of the mode's shape") {
    for (const std::string& layout : kLayouts) {
        CAPTURE(layout);
        std::vector<float> w(130 * 200, 0.0f);
        for (size_t i = 0; i < w.size(); i += 3) w[i] = -0.0f;
        const auto ops = ops_for(layout, 64);
        auto q = ops.allocate(130, 200);
        std::fill(q.buffers[0].begin(), q.buffers[0].end(), uint8_t(0x55));
        ops.quantize(w.data(), q);
        CHECK(std::all_of(q.buffers[0].begin(), q.buffers[0].end(), [](uint8_t c) { return c == 0; }));
        const auto s = scale_of(q);
        CHECK(s.size() == (mode_of(layout) == CTQ_SCALING_ROW ? 130u : mode_of(layout) == CTQ_SCALING_BLOCK ? 12u : 1u));
        CHECK(std::all_of(s.begin(), s.end(), [](float v) { return v == 1.0f; }));
    }
}

TEST_CASE("fp8 NaN and Inf are refused with the count and the first position") {
    for (const std::string& layout : kLayouts) {
        CAPTURE(layout);
        auto w = random_weight(70, 90, 3);
        w[13 * 90 + 17] = std::numeric_limits<float>::quiet_NaN();
        w[40 * 90 + 2] = -std::numeric_limits<float>::infinity();
        w[69 * 90 + 89] = std::numeric_limits<float>::infinity();
        const ctq_layout_desc* d = registry().layout(layout);
        const ctq_layout_params p = params(mode_of(layout), 64);
        ctq_tensor_spec specs[CTQ_MAX_OUTPUTS];
        int32_t count = 0;
        ctq_error err{};
        const int64_t shape[2] = {70, 90};
        REQUIRE(d->output_specs(d->user, shape, &p, specs, &count, &err) == CTQ_OK);
        std::vector<uint8_t> codes(70 * 90);
        std::vector<float> scale(100);
        ctq_tensor_view outs[2] = {
            ctq::cpu_view(codes.data(), static_cast<ctq_dtype>(specs[0].dtype), {70, 90}),
            ctq::cpu_view(scale.data(), CTQ_DTYPE_F32,
                          std::vector<int64_t>(specs[1].shape, specs[1].shape + specs[1].ndim))};
        const ctq_tensor_view in = ctq::cpu_view(w.data(), CTQ_DTYPE_F32, {70, 90});
        CHECK(d->quantize(d->user, &in, &p, outs, 2, &err) == CTQ_ERR_NON_FINITE);
        const std::string msg = err.message;
        CAPTURE(msg);
        CHECK(msg.find(layout) != std::string::npos);
        CHECK(msg.find("3 non-finite") != std::string::npos);
        CHECK(msg.find("[13, 17]") != std::string::npos);

        auto q = ops_for(layout, 64).allocate(70, 90);  // and through LayoutOps: a CtqError
        CHECK_THROWS_WITH_AS(ops_for(layout, 64).quantize(w.data(), q),
                             doctest::Contains("[13, 17]"), ctq::CtqError);
    }
}

TEST_CASE("fp8 grid operations: bracket, encode_values and expand_scale agree with dequantize") {
    for (const std::string& layout : kLayouts)
        for (const Shape s : {Shape{130, 200}, Shape{67, 129}, Shape{1, 33}}) {
            CAPTURE(layout);
            CAPTURE(s.rows);
            const int64_t n = s.rows * s.cols;
            const auto w = random_weight(s.rows, s.cols, 11);
            const auto ops = ops_for(layout, 64);
            auto q = ops.allocate(s.rows, s.cols);
            ops.quantize(w.data(), q);
            std::vector<float> d(n), deq(n), lo(n), hi(n), back(n);
            ops.expand_scale(q, d.data());
            ops.dequantize(q, deq.data());
            // Targets: the weight, points between grid values, and values past saturation.
            std::mt19937 rng(5);
            std::uniform_real_distribution<float> jitter(-1.5f, 1.5f);
            std::vector<float> x(n);
            for (int64_t i = 0; i < n; ++i) x[i] = w[i] + jitter(rng) * std::fabs(w[i]) * 0.2f;
            for (int64_t i = 0; i < n; i += 50) x[i] = (i % 100 ? -1.0f : 1.0f) * 1000.0f * ctq::kern::Fp8E5M2::kMax * d[i];
            ops.bracket(x.data(), q, lo.data(), hi.data());
            const float fmt_max = layout == "float8_e5m2" ? ctq::kern::Fp8E5M2::kMax : 448.0f;
            int64_t bad_order = 0, bad_saturation = 0, bad_lo = 0, bad_hi = 0;
            for (int64_t i = 0; i < n; ++i) {
                const float top = fmt_max * d[i];
                if (std::fabs(x[i]) >= top)
                    bad_saturation += !(lo[i] == hi[i] && lo[i] == std::copysign(top, x[i]));
                else
                    bad_order += !(lo[i] <= x[i] && x[i] <= hi[i] && (lo[i] < hi[i] || lo[i] == x[i]));
            }
            CHECK(bad_order == 0);
            CHECK(bad_saturation == 0);
            // Both ends are grid values: encoding them and decoding gives them back exactly.
            for (auto* ends : {&lo, &hi}) {
                auto q2 = q;
                ops.encode_values(ends->data(), q2);
                ops.dequantize(q2, back.data());
                int64_t& bad = ends == &lo ? bad_lo : bad_hi;
                for (int64_t i = 0; i < n; ++i) bad += bits(back[i]) != bits((*ends)[i]) && back[i] != (*ends)[i];
                CHECK(q2.buffers[1] == q.buffers[1]);  // scales untouched
            }
            CHECK(bad_lo == 0);
            CHECK(bad_hi == 0);
            // The RTN result is itself on the grid and re-encodes to the same codes.
            auto q3 = q;
            ops.encode_values(deq.data(), q3);
            int64_t code_changes = 0;
            for (int64_t i = 0; i < n; ++i) {
                const uint8_t a = q.buffers[0][i], b = q3.buffers[0][i];
                code_changes += a != b && !((a | b) == 0x80 && (a & 0x7f) == 0);  // +0 vs -0 alike
            }
            CHECK(code_changes == 0);
            // A value off the grid is refused, naming its position.
            std::vector<float> off(deq);
            off[s.cols - 1] = std::nextafter(off[s.cols - 1] + 0.5f * d[s.cols - 1] * 0.001f, 1e30f);
            if (off[s.cols - 1] != deq[s.cols - 1])
                CHECK_THROWS_WITH_AS(ops.encode_values(off.data(), q3), doctest::Contains(("[0, " + std::to_string(s.cols - 1) + "]").c_str()), ctq::CtqError);
        }
}

TEST_CASE("fp8 dequantize error is within half a grid step times the scale") {
    for (const std::string& layout : kLayouts) {
        CAPTURE(layout);
        const bool e5m2 = layout == "float8_e5m2";
        const int mant = e5m2 ? 2 : 3, bias = e5m2 ? 15 : 7;
        const auto w = random_weight(96, 160, 21);
        const auto ops = ops_for(layout, 64);
        auto q = ops.allocate(96, 160);
        ops.quantize(w.data(), q);
        std::vector<float> d(w.size()), deq(w.size());
        ops.expand_scale(q, d.data());
        ops.dequantize(q, deq.data());
        int64_t violations = 0;
        for (size_t i = 0; i < w.size(); ++i) {
            const double y = std::fabs(double(w[i]) / d[i]);  // position on the FP8 axis
            const int e = std::max(int(std::floor(std::log2(std::max(y, 1e-30)))), 1 - bias);
            const double step = std::ldexp(1.0, e - mant);
            // Half a step, plus float32 slack of the scale multiply and division (a few ulps).
            const double bound = (0.5 * step + 4e-7 * y) * d[i] + 1e-6 * std::fabs(w[i]);
            violations += std::fabs(double(w[i]) - double(deq[i])) > bound;
        }
        CHECK(violations == 0);
    }
}

TEST_CASE("fp8 grid operations and quantize refuse CUDA views without CUDA") {
    const ctq_layout_desc* d = registry().layout("float8_e4m3fn");
    const ctq_layout_params p = params(CTQ_SCALING_TENSOR);
    float x = 1.0f, lo = 0, hi = 0, scale = 1.0f;
    uint8_t code = 0;
    ctq_tensor_view xv = ctq::cpu_view(&x, CTQ_DTYPE_F32, {1, 1});
    xv.device.kind = CTQ_DEVICE_CUDA;
    ctq_tensor_view lv = ctq::cpu_view(&lo, CTQ_DTYPE_F32, {1, 1}), hv = ctq::cpu_view(&hi, CTQ_DTYPE_F32, {1, 1});
    lv.device.kind = hv.device.kind = CTQ_DEVICE_CUDA;
    ctq_tensor_view outs[2] = {ctq::cpu_view(&code, CTQ_DTYPE_F8_E4M3, {1, 1}), ctq::cpu_view(&scale, CTQ_DTYPE_F32, {})};
    outs[0].device.kind = outs[1].device.kind = CTQ_DEVICE_CUDA;
    ctq_error err{};
    if (!(d->flags & CTQ_LAYOUT_SUPPORTS_CUDA)) {
        CHECK(d->bracket(d->user, &xv, outs, 2, &p, &lv, &hv, &err) == CTQ_ERR_UNSUPPORTED);
        CHECK(d->quantize(d->user, &xv, &p, outs, 2, &err) == CTQ_ERR_UNSUPPORTED);
        CHECK(std::string(err.message).find("without CUDA") != std::string::npos);
    }
}
