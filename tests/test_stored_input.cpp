// CTQ_LAYOUT_ACCEPTS_16BIT_INPUT: every FP8 and INT8 layout quantizes a weight handed over as
// stored (BF16 or F16) to exactly the codes and scales it gives for the same weight widened to
// F32, and refuses NaN/Inf in it naming the first position, through the C ABI and LayoutOps.
// The INT8 CPU encoder (AVX2 where the CPU has it) is also checked element by element against
// the scalar int8_encode, ties and clamps included.
#include "io/convert_dtype.hpp"
#include "plugins/registry.hpp"
#include "quant/layout_ops.hpp"

#include <ctq/kernels/half.hpp>
#include <ctq/kernels/int8.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Plugins {
    ctq::Registry reg;
    Plugins() {
        REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_fp8.so"));
        REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_int8.so"));
    }
};

const Plugins& plugins() {
    static Plugins p;
    return p;
}

struct LayoutCase {
    const char* layout;
    int32_t mode;
    int64_t block;
    int64_t convrot_group;  // 0 = none
};

// Every FP8 and INT8 layout with each scaling mode it serves (blocks both default and small).
const LayoutCase kCases[] = {
    {"float8_e4m3fn", CTQ_SCALING_TENSOR, 0, 0},
    {"float8_e5m2", CTQ_SCALING_TENSOR, 0, 0},
    {"float8_e4m3fn_rowwise", CTQ_SCALING_ROW, 0, 0},
    {"float8_e4m3fn_blockwise", CTQ_SCALING_BLOCK, 0, 0},
    {"float8_e4m3fn_blockwise", CTQ_SCALING_BLOCK, 16, 0},
    {"int8_blockwise", CTQ_SCALING_BLOCK, 0, 0},
    {"int8_blockwise", CTQ_SCALING_BLOCK, 32, 0},
    {"int8_tensorwise", CTQ_SCALING_TENSOR, 0, 0},
    {"int8_tensorwise", CTQ_SCALING_ROW, 0, 0},
    {"int8_tensorwise", CTQ_SCALING_ROW, 0, 16},
};

ctq::LayoutOps ops_for(const LayoutCase& c) {
    const ctq_layout_desc* d = plugins().reg.layout(c.layout);
    REQUIRE(d != nullptr);
    ctq_layout_params p{};
    p.struct_size = sizeof p;
    p.scaling_mode = c.mode;
    p.block_size = c.block;
    p.convrot = c.convrot_group > 0;
    p.convrot_group_size = c.convrot_group;
    return ctq::LayoutOps(*d, p, "layer");
}

// A weight in a 16-bit dtype: its bytes and its exact F32 widening.
struct StoredWeight {
    ctq_dtype dtype;
    std::vector<uint16_t> bits;
    std::vector<float> f32;
};

StoredWeight make_weight(ctq_dtype dtype, int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    // Magnitudes from F16 subnormals to beyond the FP8 range, zeros of both signs, some rows
    // scaled far apart so per-row and per-block scales differ.
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_int_distribution<int> pick(0, 15);
    std::uniform_real_distribution<float> row_scale_exp(-12.f, 8.f);
    StoredWeight w{dtype, std::vector<uint16_t>(static_cast<size_t>(rows * cols)), {}};
    for (int64_t r = 0; r < rows; ++r) {
        const float scale = std::exp2(row_scale_exp(rng));
        for (int64_t c = 0; c < cols; ++c) {
            const int k = pick(rng);
            const float x = k == 0 ? 0.f : k == 1 ? -0.f : k == 2 ? normal(rng) * 3e-6f : normal(rng) * scale;
            w.bits[r * cols + c] = dtype == CTQ_DTYPE_BF16 ? ctq::kern::f32_to_bf16(x) : ctq::kern::f32_to_f16(x);
        }
    }
    w.f32.resize(w.bits.size());
    ctq::to_f32(reinterpret_cast<const uint8_t*>(w.bits.data()), dtype, w.bits.size(), w.f32.data());
    return w;
}

uint16_t non_finite_bits(ctq_dtype dtype, int which) {  // 0 NaN, 1 +Inf, 2 -Inf
    const uint16_t inf = dtype == CTQ_DTYPE_BF16 ? 0x7f80 : 0x7c00;
    const uint16_t nan = dtype == CTQ_DTYPE_BF16 ? 0x7fc0 : 0x7e00;
    return which == 0 ? nan : which == 1 ? inf : static_cast<uint16_t>(inf | 0x8000);
}

std::string case_name(const LayoutCase& c) {
    return std::string(c.layout) + " mode " + std::to_string(c.mode) + " block " + std::to_string(c.block) +
           " convrot " + std::to_string(c.convrot_group);
}

}  // namespace

TEST_CASE("FP8 and INT8 layouts declare that they take 16-bit input") {
    for (const LayoutCase& c : kCases) {
        CAPTURE(c.layout);
        CHECK((plugins().reg.layout(c.layout)->flags & CTQ_LAYOUT_ACCEPTS_16BIT_INPUT) != 0);
    }
}

TEST_CASE("BF16 and F16 weights give the same codes and scales as their F32 widening") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int64_t> dim(1, 200);
    for (const LayoutCase& c : kCases) {
        const ctq::LayoutOps ops = ops_for(c);
        for (const ctq_dtype dtype : {CTQ_DTYPE_BF16, CTQ_DTYPE_F16}) {
            // Random shapes, plus rows wider than the kernels' 1024-element widening piece.
            std::vector<std::pair<int64_t, int64_t>> shapes{{1, 1}, {3, 2500}, {130, 16}};
            for (int i = 0; i < 4; ++i) shapes.push_back({dim(rng), dim(rng) * 2});
            for (auto [rows, cols] : shapes) {
                if (c.convrot_group && cols % c.convrot_group) cols = (cols / c.convrot_group + 1) * c.convrot_group;
                CAPTURE(case_name(c));
                CAPTURE(dtype);
                CAPTURE(rows);
                CAPTURE(cols);
                const StoredWeight w = make_weight(dtype, rows, cols, static_cast<uint32_t>(rng()));
                ctq::QuantizedLayer want = ops.allocate(rows, cols), got = ops.allocate(rows, cols);
                ops.quantize(w.f32.data(), want);
                REQUIRE(ops.accepts_stored(w.bits.data(), dtype));
                REQUIRE(ops.quantize_stored(w.bits.data(), dtype, got));
                for (size_t b = 0; b < want.buffers.size(); ++b) {
                    CAPTURE(want.specs[b].suffix);
                    CHECK(got.buffers[b] == want.buffers[b]);
                }
            }
        }
    }
}

TEST_CASE("every finite BF16 and F16 code quantizes as its F32 widening") {
    for (const ctq_dtype dtype : {CTQ_DTYPE_BF16, CTQ_DTYPE_F16}) {
        // [256, 256]: row r holds the codes r * 256 ..., so row and block scales span the range.
        StoredWeight w{dtype, std::vector<uint16_t>(65536), std::vector<float>(65536)};
        const uint16_t exp_mask = dtype == CTQ_DTYPE_BF16 ? 0x7f80 : 0x7c00;
        for (uint32_t i = 0; i < 65536; ++i)
            w.bits[i] = (i & exp_mask) == exp_mask ? 0 : static_cast<uint16_t>(i);  // NaN/Inf -> 0
        ctq::to_f32(reinterpret_cast<const uint8_t*>(w.bits.data()), dtype, w.bits.size(), w.f32.data());
        for (const LayoutCase& c : kCases) {
            CAPTURE(case_name(c));
            CAPTURE(dtype);
            const ctq::LayoutOps ops = ops_for(c);
            ctq::QuantizedLayer want = ops.allocate(256, 256), got = ops.allocate(256, 256);
            // The ConvRot rotation overflows near the BF16 maximum: then both paths refuse.
            bool f32_ok = true;
            try {
                ops.quantize(w.f32.data(), want);
            } catch (const std::exception&) {
                f32_ok = false;
            }
            CHECK(f32_ok == !(c.convrot_group > 0 && dtype == CTQ_DTYPE_BF16));
            REQUIRE(ops.quantize_stored(w.bits.data(), dtype, got) == f32_ok);
            for (size_t b = 0; f32_ok && b < want.buffers.size(); ++b) CHECK(got.buffers[b] == want.buffers[b]);
        }
    }
}

TEST_CASE("an all-zero 16-bit weight gives codes 0 and the F32 path's scales") {
    for (const LayoutCase& c : kCases) {
        CAPTURE(case_name(c));
        const ctq::LayoutOps ops = ops_for(c);
        const std::vector<uint16_t> zeros(64 * 64, 0x8000);  // -0 in both dtypes
        const std::vector<float> f32(zeros.size(), -0.f);
        for (const ctq_dtype dtype : {CTQ_DTYPE_BF16, CTQ_DTYPE_F16}) {
            ctq::QuantizedLayer want = ops.allocate(64, 64), got = ops.allocate(64, 64);
            ops.quantize(f32.data(), want);
            REQUIRE(ops.quantize_stored(zeros.data(), dtype, got));
            for (size_t b = 0; b < want.buffers.size(); ++b) CHECK(got.buffers[b] == want.buffers[b]);
        }
    }
}

TEST_CASE("NaN and Inf in a 16-bit weight are refused with the first position") {
    std::mt19937 rng(11);
    for (const LayoutCase& c : kCases) {
        const ctq::LayoutOps ops = ops_for(c);
        const ctq_layout_desc& d = ops.desc();
        for (const ctq_dtype dtype : {CTQ_DTYPE_BF16, CTQ_DTYPE_F16}) {
            for (int which = 0; which < 3; ++which) {
                CAPTURE(case_name(c));
                CAPTURE(dtype);
                CAPTURE(which);
                const int64_t rows = 40, cols = 64;
                StoredWeight w = make_weight(dtype, rows, cols, static_cast<uint32_t>(rng()));
                const int64_t first = std::uniform_int_distribution<int64_t>(0, rows * cols - 2)(rng);
                w.bits[first] = non_finite_bits(dtype, which);
                w.bits[rows * cols - 1] = non_finite_bits(dtype, (which + 1) % 3);
                ctq::QuantizedLayer q = ops.allocate(rows, cols);
                CHECK_FALSE(ops.quantize_stored(w.bits.data(), dtype, q));
                // Through the C ABI: the status and a message naming the first position.
                const ctq_tensor_view in = ctq::cpu_view(w.bits.data(), dtype, {rows, cols});
                auto outs = q.views();
                ctq_error err{};
                CHECK(d.quantize(d.user, &in, &ops.params(), outs.data(), static_cast<int32_t>(outs.size()), &err) ==
                      CTQ_ERR_NON_FINITE);
                const std::string where = "[" + std::to_string(first / cols) + ", " + std::to_string(first % cols) + "]";
                CHECK(std::string(err.message).find(where) != std::string::npos);
                CHECK(std::string(err.message).find("2 non-finite") != std::string::npos);
            }
        }
    }
}

TEST_CASE("16-bit input is taken only on the CPU, 2-D, aligned, and in BF16 or F16") {
    const ctq::LayoutOps ops = ops_for(kCases[0]);
    const ctq_layout_desc& d = ops.desc();
    std::vector<uint16_t> w(9, 0x3f80);
    ctq::QuantizedLayer q = ops.allocate(3, 3);
    auto outs = q.views();
    ctq_error err{};
    auto status = [&](const ctq_tensor_view& in) {
        return d.quantize(d.user, &in, &ops.params(), outs.data(), static_cast<int32_t>(outs.size()), &err);
    };
    CHECK(status(ctq::cpu_view(w.data(), CTQ_DTYPE_BF16, {3, 3})) == CTQ_OK);
    CHECK(status(ctq::cpu_view(w.data(), CTQ_DTYPE_I16, {3, 3})) == CTQ_ERR_INVALID_ARGUMENT);
    CHECK(status(ctq::cpu_view(w.data(), CTQ_DTYPE_BF16, {9})) == CTQ_ERR_INVALID_ARGUMENT);
    ctq_tensor_view on_gpu = ctq::cpu_view(w.data(), CTQ_DTYPE_BF16, {3, 3});
    on_gpu.device.kind = CTQ_DEVICE_CUDA;
    CHECK(status(on_gpu) != CTQ_OK);  // CUDA views stay F32
    CHECK(ops.accepts_stored(w.data(), CTQ_DTYPE_F16));
    CHECK_FALSE(ops.accepts_stored(reinterpret_cast<const uint8_t*>(w.data()) + 1, CTQ_DTYPE_BF16));
    CHECK_FALSE(ops.accepts_stored(w.data(), CTQ_DTYPE_F64));
}

TEST_CASE("the INT8 CPU encoder gives int8_encode's code for every element, ties and clamps included") {
    using ctq::kern::Int8Mode;
    std::vector<float> w;
    for (int k = -260; k <= 260; ++k) w.push_back(0.5f * static_cast<float>(k));  // every tie, both clamps
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.f, 60.f);
    while (w.size() % 32 != 5) w.push_back(normal(rng));  // a tail past the last 32-element step
    for (int i = 0; i < 4000; ++i) w.push_back(normal(rng));
    w.push_back(-0.f);
    const int64_t n = static_cast<int64_t>(w.size());
    for (const Int8Mode mode : {Int8Mode::Tensor, Int8Mode::Row, Int8Mode::Block}) {
        for (const float apply : {1.0f, 0.7f, 2.0f / 3.0f, 1.5f}) {
            CAPTURE(static_cast<int>(mode));
            CAPTURE(apply);
            const ctq::kern::Int8Tiling tiling{1, n, 1, n};
            std::vector<int8_t> q(w.size());
            ctq::kern::int8_encode_cpu(mode, w.data(), tiling, &apply, q.data());
            int64_t wrong = 0;
            for (int64_t i = 0; i < n; ++i) wrong += q[i] != ctq::kern::int8_encode(mode, w[i], apply);
            CHECK(wrong == 0);
        }
    }
}
