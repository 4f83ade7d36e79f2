// --layer-config (REFERENCE_SPEC 7.1): specificity, tiers, fullmatch, skip, _default, overrides
// and up-front validation.
#include "test_plan_support.hpp"

#include "core/error.hpp"
#include "plan/layer_config.hpp"
#include "plan/planner.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace {

using namespace plan_test;

ctq::LayerConfig parse(const ctq::Registry& reg, const std::string& json, bool fullmatch = false) {
    return ctq::LayerConfig::parse(json, "cfg.json", reg, fullmatch);
}

std::string error_of(const ctq::Registry& reg, const std::string& json) {
    try {
        parse(reg, json);
    } catch (const ctq::CtqError& e) {
        return e.what();
    }
    return "";
}

// A layer config written to a temporary file, for the Planner which loads it by path.
struct TempConfig {
    std::filesystem::path path;
    explicit TempConfig(const std::string& json) {
        path = std::filesystem::temp_directory_path() /
               ("ctq_test_layer_config_" + std::to_string(::getpid()) + ".json");
        std::ofstream(path) << json;
    }
    ~TempConfig() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("literal length and tier follow the reference's measure") {
    // The two examples of REFERENCE_SPEC 7.1.
    CHECK(ctq::pattern_literal_len("double_blocks\\.0\\.img_attn") == 22);
    CHECK(ctq::pattern_tier("double_blocks\\.0\\.img_attn") == 1);
    CHECK(ctq::pattern_literal_len("double_blocks\\.\\d+\\.img_attn") == 21);
    CHECK(ctq::pattern_tier("double_blocks\\.\\d+\\.img_attn") == 0);
    // Metacharacters go, brackets and parentheses stay; \d with a short literal is tier 1.
    CHECK(ctq::pattern_literal_len("^(a|b)[0-9]*$") == 9);
    CHECK(ctq::pattern_literal_len("x{2}") == 2);
    CHECK(ctq::pattern_tier("a\\d+b") == 1);
    CHECK(ctq::pattern_tier("abcdefgh\\d") == 0);
}

TEST_CASE(
    "the most specific matching pattern wins: tier first, then literal length, then file order") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    const auto cfg = parse(reg, R"({
        "img_attn":                       {"format": "float8_e4m3fn"},
        "double_blocks\\.0\\.img_attn":    {"format": "float8_e4m3fn_rowwise"},
        "double_blocks\\.\\d+\\.img_attn": {"format": "int8_tensorwise"},
        "attn":                           {"format": "float8_e4m3fn"},
        "mlp":                            {"format": "int8_blockwise"},
        "mlq|mlp":                        {"format": "float8_e4m3fn"},
        "blocks":                         {"format": "float8_e4m3fn_rowwise"}
    })");
    // tier 0 (\d, len 21) beats the longer tier-1 literal (len 22).
    const auto* e = cfg.match("double_blocks.0.img_attn.qkv");
    REQUIRE(e);
    CHECK(e->pattern == "double_blocks\\.\\d+\\.img_attn");
    CHECK(e->tier == 0);
    CHECK(e->literal_len == 21);
    // Within tier 1 the longer literal wins.
    e = cfg.match("single.img_attn");
    REQUIRE(e);
    CHECK(e->pattern == "img_attn");
    // "mlp" (len 3) and "mlq|mlp" (len 6): longer literal wins although it comes later.
    e = cfg.match("double_blocks.0.img_mlp.0");
    REQUIRE(e);
    CHECK(e->pattern == "mlq|mlp");
    // Equal rank: file order.
    const auto tie = parse(reg, R"({"abc": {"format": "float8_e4m3fn_rowwise"},
                                   "bcd": {"format": "int8_blockwise"}})");
    e = tie.match("abcd");
    REQUIRE(e);
    CHECK(e->pattern == "abc");
    const auto tie2 = parse(reg, R"({"bcd": {"format": "int8_blockwise"},
                                    "abc": {"format": "float8_e4m3fn_rowwise"}})");
    CHECK(tie2.match("abcd")->pattern == "bcd");
    CHECK(cfg.match("nothing_here") == nullptr);
}

TEST_CASE("search by default, full match with --fullmatch") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    const std::string json = R"({"img_in": {"format": "float8_e4m3fn"}})";
    CHECK(parse(reg, json, false).match("x.img_in.proj") != nullptr);
    CHECK(parse(reg, json, true).match("x.img_in.proj") == nullptr);
    CHECK(parse(reg, json, true).match("img_in") != nullptr);
}

TEST_CASE("format names a layout; scaling_mode and block_size override") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    const auto cfg = parse(reg, R"({
        "a": {"format": "int8_tensorwise", "scaling_mode": "row"},
        "b": {"format": "int8_tensorwise"},
        "c": {"format": "float8_e4m3fn_blockwise", "block_size": 32},
        "d": {"format": "int8_blockwise"}
    })");
    CHECK(cfg.match("a")->scaling_mode == CTQ_SCALING_ROW);
    CHECK(cfg.match("b")->scaling_mode == CTQ_SCALING_TENSOR);  // the layout's first mode
    CHECK(cfg.match("c")->scaling_mode == CTQ_SCALING_BLOCK);
    CHECK(cfg.match("c")->block_size == 32);

    TempConfig file(R"({"img": {"format": "float8_e4m3fn_blockwise", "block_size": 32,
                                "full_precision_matrix_mult": true, "simple": false},
                       "txt": {"format": "int8_tensorwise", "scaling_mode": "row"},
                       "mod": {"format": "int8_blockwise"},
                       "skipme": {"skip": true}})");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.layer_config = file.path.string();
    const ctq::Planner planner(o, reg);
    auto p = planner.plan_tensor(tensor("img.weight", {128, 128}));
    CHECK(p.tier == "config");
    CHECK(std::string(p.layout->name) == "float8_e4m3fn_blockwise");
    CHECK(p.params.scaling_mode == CTQ_SCALING_BLOCK);
    CHECK(p.params.block_size == 32);
    CHECK(p.params.full_precision_mm == 1);
    CHECK(p.method == ctq::RoundingMethod::Learned);  // entry's simple=false beats global --simple
    CHECK(p.reason == "layer config pattern 'img' (tier 1, len 3)");
    p = planner.plan_tensor(tensor("txt.weight", {128, 128}));
    CHECK(std::string(p.layout->name) == "int8_tensorwise");
    CHECK(p.params.scaling_mode == CTQ_SCALING_ROW);
    CHECK(p.params.block_size == 128);                // 1.1: INT8 non-tensor defaults to 128
    CHECK(p.method == ctq::RoundingMethod::Nearest);  // inherits global --simple
    p = planner.plan_tensor(tensor("mod.weight", {256, 256}));
    CHECK(p.params.block_size == 128);
    p = planner.plan_tensor(tensor("skipme.weight", {256, 256}));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "layer config pattern 'skipme' (tier 1, len 6): skip");
    p = planner.plan_tensor(tensor("other.weight", {256, 256}));
    CHECK(p.tier == "primary");
}

TEST_CASE("a pattern beats presets and regexes; _default does not disable them") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    TempConfig file(R"({"_default": {"format": "int8_tensorwise", "scaling_mode": "row"},
                       "_exclusions": [],
                       "img_in": {"format": "float8_e4m3fn_rowwise"}})");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.layer_config = file.path.string();
    o.presets = {"flux2"};
    o.exclude_layers = "mlp";
    const ctq::Planner planner(o, reg);
    auto p =
        planner.plan_tensor(tensor("img_in.weight", {256, 64}));  // flux2 highprec, but matched
    CHECK(p.action == ctq::PlanAction::Quantize);
    CHECK(std::string(p.layout->name) == "float8_e4m3fn_rowwise");
    p = planner.plan_tensor(tensor("txt_in.weight", {256, 64}));  // flux2 highprec, no pattern
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "flux2 highprec: 'txt_in'");
    p = planner.plan_tensor(tensor("double_blocks.0.img_mlp.0.weight", {256, 64}));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "regex exclusion");
    p = planner.plan_tensor(tensor("double_blocks.0.img_attn.qkv.weight", {256, 64}));
    CHECK(p.tier == "config");
    CHECK(p.reason == "layer config _default");
    CHECK(std::string(p.layout->name) == "int8_tensorwise");
    CHECK(p.params.scaling_mode == CTQ_SCALING_ROW);
}

TEST_CASE("_default with skip keeps every layer no other rule claims") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    TempConfig file(R"({"_default": {"skip": true}, "qkv": {"format": "float8_e4m3fn"}})");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.layer_config = file.path.string();
    const ctq::Planner planner(o, reg);
    CHECK(planner.plan_tensor(tensor("a.qkv.weight", {64, 64})).action ==
          ctq::PlanAction::Quantize);
    const auto p = planner.plan_tensor(tensor("a.proj.weight", {64, 64}));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "layer config _default: skip");
}

TEST_CASE("the whole config is validated up front, errors name the file and the key") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    std::string e = error_of(
        reg, R"({"ok": {"format": "float8_e4m3fn"}, "bad(": {"format": "float8_e4m3fn"}})");
    CHECK(e.find("cfg.json") != std::string::npos);
    CHECK(e.find("bad(") != std::string::npos);
    CHECK(e.find("invalid regex") != std::string::npos);

    e = error_of(reg, R"({"x": {"format": "nvfp4"}})");
    CHECK(e.find("cfg.json") != std::string::npos);
    CHECK(e.find("'x'") != std::string::npos);
    CHECK(e.find("unknown format 'nvfp4'") != std::string::npos);
    CHECK(e.find("float8_e4m3fn_rowwise") != std::string::npos);  // lists the known layouts

    CHECK(error_of(reg, R"({"x": {"format": "float8_e4m3fn", "block_size": "64"}})")
              .find("\"block_size\" must be an integer") != std::string::npos);
    CHECK(
        error_of(reg, R"({"x": {"format": "float8_e4m3fn", "block_size": 0}})").find("positive") !=
        std::string::npos);
    CHECK(error_of(reg, R"({"x": {"format": "float8_e4m3fn", "skip": "yes"}})")
              .find("\"skip\" must be true or false") != std::string::npos);
    CHECK(error_of(reg, R"({"x": {"format": "float8_e4m3fn", "blocksize": 64}})")
              .find("unknown field \"blocksize\"") != std::string::npos);
    CHECK(error_of(reg, R"({"x": {"format": "float8_e4m3fn", "scaling_mode": "row"}})")
              .find("has no scaling mode 'row'") != std::string::npos);
    CHECK(error_of(reg, R"({"x": {"format": "int8_tensorwise", "scaling_mode": "diagonal"}})")
              .find("unknown scaling mode 'diagonal'") != std::string::npos);
    CHECK(error_of(reg, R"({"x": {"format": ""}})").find("needs a \"format\"") !=
          std::string::npos);
    CHECK(error_of(reg, R"({"_default": {"format": ""}})").find("'_default'") != std::string::npos);
    CHECK(error_of(reg, R"({"x": "float8_e4m3fn"})").find("must be a JSON object") !=
          std::string::npos);
    CHECK(error_of(reg, R"([1, 2])").find("must be a JSON object") != std::string::npos);
    CHECK(error_of(reg, R"({"x": )").find("not valid JSON") != std::string::npos);
    // Python-only regex syntax is refused, not misread.
    CHECK(error_of(reg, R"j({"(?P<n>x)": {"format": "float8_e4m3fn"}})j").find("invalid regex") !=
          std::string::npos);
    CHECK(error_of(reg, R"({"\\Aimg": {"format": "float8_e4m3fn"}})").find("Python-only") !=
          std::string::npos);
    // Fields starting with '_' inside an entry (the template's _shape) are fine.
    CHECK(error_of(reg, R"({"x": {"format": "float8_e4m3fn", "_shape": [3, 4]}})").empty());
}

TEST_CASE("a missing layer config file is an error naming it") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.layer_config = "/nonexistent/ctq_cfg.json";
    CHECK_THROWS_WITH_AS(ctq::Planner(o, reg), doctest::Contains("/nonexistent/ctq_cfg.json"),
                         ctq::CtqError);
}
