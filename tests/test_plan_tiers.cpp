// Tiers (custom / fallback / primary), --heur, ConvRot, fpmm, block-size defaults, structural
// rules, output names, the --dry-run table and the layer-config template.
#include "test_plan_support.hpp"

#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "plan/layer_config_template.hpp"
#include "plan/output_name.hpp"
#include "plan/plan_table.hpp"
#include "plan/planner.hpp"

#include <fstream>
#include <sstream>

namespace {

using namespace plan_test;

ctq::TierFormat tier(const char* family, const char* mode, int64_t block = 0) {
    ctq::TierFormat f;
    f.family = family;
    f.scaling_mode = mode;
    f.block_size = block;
    return f;
}

std::string error_of(const ctq::PlanOptions& o, const ctq::Registry& reg) {
    try {
        ctq::Planner p(o, reg);
    } catch (const ctq::CtqError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("only non-empty 2-D float .weight tensors are candidates") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    const ctq::Planner planner(fp8_tensor_simple(), reg);
    struct Case {
        ctq::TensorInfo t;
        const char* reason;
    } cases[] = {
        {tensor("a.bias", {64}), "1-D tensor"},
        {tensor("conv.weight", {8, 4, 3, 3}), "4-D tensor"},
        {tensor("e.weight", {2, 3, 4}), "3-D tensor"},
        {tensor("scalar", {}), "0-D tensor"},
        {tensor("a.scale_table", {64, 64}), "2-D tensor that is not a .weight"},
        {tensor("empty.weight", {0, 64}), "empty tensor"},
        {tensor("q.weight", {64, 64}, CTQ_DTYPE_F8_E4M3), "already quantized (F8_E4M3)"},
        {tensor("i.weight", {64, 64}, CTQ_DTYPE_I8),
         "I8 weight: not a float dtype (already quantized?)"},
    };
    for (const auto& c : cases) {
        const auto p = planner.plan_tensor(c.t);
        CAPTURE(c.t.name);
        CHECK(p.action == ctq::PlanAction::Copy);
        CHECK(p.reason == c.reason);
    }
    for (ctq_dtype d : {CTQ_DTYPE_F32, CTQ_DTYPE_F16, CTQ_DTYPE_BF16, CTQ_DTYPE_F64}) {
        const auto p = planner.plan_tensor(tensor("w.weight", {64, 64}, d));
        CHECK(p.action == ctq::PlanAction::Quantize);
        CHECK(p.base == "w");
    }
}

TEST_CASE("remove drops every key with the substring, not only weights") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"t5xxl"};
    const ctq::Planner planner(o, reg);
    for (const char* key :
         {"decoder.block.0.layer.0.layer_norm.weight", "lm_head.bias", "decoder.x"}) {
        const auto p = planner.plan_tensor(tensor(key, {4}));
        CHECK(p.action == ctq::PlanAction::Drop);
    }
    CHECK(planner.plan_tensor(tensor("lm_head.weight", {8, 8})).reason ==
          "t5xxl remove: 'lm_head'");
    CHECK(planner.plan_tensor(tensor("encoder.shared.weight", {8, 8})).reason ==
          "t5xxl exclude: 'shared'");
}

TEST_CASE("exclusions: regex first, then presets in order; --fallback quantizes them") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"flux2", "distillation_large"};
    o.exclude_layers = "img_in|mod\\.lin";
    const ctq::Planner keep(o, reg);
    CHECK(keep.plan_tensor(tensor("img_in.weight", {64, 64})).reason == "regex exclusion");
    CHECK(keep.plan_tensor(tensor("txt_in.weight", {64, 64})).reason == "flux2 highprec: 'txt_in'");
    CHECK(keep.plan_tensor(tensor("distilled_guidance_layer.x.weight", {64, 64})).reason ==
          "distillation_large highprec: 'distilled_guidance_layer'");
    CHECK(keep.plan_tensor(tensor("double_blocks.0.img_mod.lin.weight", {64, 64})).action ==
          ctq::PlanAction::Copy);

    o.fallback = tier("int8", "row");
    o.fallback->simple = true;
    const ctq::Planner fb(o, reg);
    const auto p = fb.plan_tensor(tensor("txt_in.weight", {64, 64}));
    CHECK(p.action == ctq::PlanAction::Quantize);
    CHECK(p.tier == "fallback");
    CHECK(p.reason == "fallback for flux2 highprec: 'txt_in'");
    CHECK(std::string(p.layout->name) == "int8_tensorwise");
    CHECK(p.params.scaling_mode == CTQ_SCALING_ROW);
    CHECK(p.params.block_size == 128);
    CHECK(fb.plan_tensor(tensor("double_blocks.0.x.weight", {64, 64})).tier == "primary");
}

TEST_CASE("custom tier beats exclusions; custom layers need a custom format") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"flux2"};
    o.custom_layers = "img_in|attn";
    CHECK(error_of(o, reg).find("--custom-layers needs --custom-type") != std::string::npos);
    o.custom = tier("int8", "block");
    o.custom->full_precision_mm = true;
    const ctq::Planner planner(o, reg);
    auto p = planner.plan_tensor(tensor("img_in.weight", {256, 256}));
    CHECK(p.tier == "custom");
    CHECK(p.reason == "--custom-layers match");
    CHECK(std::string(p.layout->name) == "int8_blockwise");
    CHECK(p.params.block_size == 128);
    CHECK(p.params.full_precision_mm == 1);
    CHECK(p.method == ctq::RoundingMethod::Learned);  // custom does not inherit --simple
    p = planner.plan_tensor(tensor("x.weight", {256, 256}));
    CHECK(p.tier == "primary");
    CHECK(p.params.full_precision_mm == 0);
    o.custom_layers = "img_in(";
    CHECK(error_of(o, reg).find("--custom-layers") != std::string::npos);
}

TEST_CASE("block size defaults (REFERENCE 1.1) and inheritance of --block_size") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    auto planned = [&](ctq::PlanOptions o) {
        return ctq::Planner(o, reg).plan_tensor(tensor("w.weight", {256, 256}));
    };
    ctq::PlanOptions o;
    o.primary = tier("fp8", "tensor");
    CHECK(planned(o).params.block_size == 0);
    o.primary = tier("fp8", "block");
    CHECK(planned(o).params.block_size == 128);
    CHECK(std::string(planned(o).layout->name) == "float8_e4m3fn_blockwise");
    o.primary = tier("fp8", "block2d", 64);
    CHECK(planned(o).params.block_size == 64);
    CHECK(planned(o).params.scaling_mode == CTQ_SCALING_BLOCK);
    o.primary = tier("int8", "tensor");
    CHECK(planned(o).params.block_size == 0);
    o.primary = tier("int8", "row");
    CHECK(planned(o).params.block_size == 128);
    // The fallback tier inherits an explicit --block_size.
    o.primary = tier("fp8", "tensor", 64);
    o.fallback = tier("int8", "block");
    o.exclude_layers = "w";
    CHECK(planned(o).params.block_size == 64);
}

TEST_CASE("a format that does not exist is an error naming it and listing the layouts") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o;
    o.primary.layout = "float8_e4m3fn_diagonal";
    std::string e = error_of(o, reg);
    CHECK(e.find("unknown format 'float8_e4m3fn_diagonal'") != std::string::npos);
    CHECK(e.find("int8_blockwise (int8: block)") != std::string::npos);
    o.primary = tier("nvfp4", "tensor");
    CHECK(error_of(o, reg).find("no layout of family 'nvfp4'") != std::string::npos);
    o.primary = tier("fp8", "row");
    o.primary.layout = "float8_e4m3fn";  // a layout named directly must serve the mode asked
    CHECK(error_of(o, reg).find("has no scaling mode 'row'") != std::string::npos);
    o.primary.scaling_mode = "";
    CHECK(error_of(o, reg).empty());
    o.primary = tier("fp8", "tensor");
    o.presets = {"flux3"};
    e = error_of(o, reg);
    CHECK(e.find("unknown preset 'flux3'") != std::string::npos);
    CHECK(e.find("flux2") != std::string::npos);
}

TEST_CASE("--heur skips layers not divisible by the family default or --block_size") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.primary.heur = true;
    const ctq::Planner fp8(o, reg);  // fp8: 64
    CHECK(fp8.plan_tensor(tensor("a.weight", {128, 192})).action == ctq::PlanAction::Quantize);
    auto p = fp8.plan_tensor(tensor("a.weight", {130, 200}));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "primary tier skipped by --heur: 130x200 is not a multiple of block 64");
    CHECK(fp8.plan_tensor(tensor("a.weight", {32, 64})).action ==
          ctq::PlanAction::Copy);  // rows < bs

    o.primary = tier("int8", "tensor");
    o.primary.heur = true;
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {192, 192})).action ==
          ctq::PlanAction::Copy);  // int8: 128
    o.primary.block_size = 64;
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {192, 192})).action ==
          ctq::PlanAction::Quantize);

    // 1.1 sets --block_size 128 when the fallback (or custom) tier is INT8: --heur follows.
    o = fp8_tensor_simple();
    o.primary.heur = true;
    o.fallback = tier("int8", "row");
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {192, 192})).reason ==
          "primary tier skipped by --heur: 192x192 is not a multiple of block 128");

    // Custom-tier layers follow --custom-heur, with the primary's block.
    o = fp8_tensor_simple();
    o.primary.heur = true;
    o.custom = tier("fp8", "row");
    o.custom_layers = "odd";
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("odd.weight", {130, 200})).tier == "custom");
    o.custom->heur = true;
    p = ctq::Planner(o, reg).plan_tensor(tensor("odd.weight", {130, 200}));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason.rfind("custom tier skipped by --heur", 0) == 0);
}

TEST_CASE("ConvRot: INT8 per-row only; dynamic group is the largest power of 4 dividing N") {
    CHECK(ctq::dynamic_convrot_group(4096, 256) == 4096);
    CHECK(ctq::dynamic_convrot_group(3072, 256) == 1024);
    CHECK(ctq::dynamic_convrot_group(512, 256) == 256);
    CHECK_FALSE(ctq::dynamic_convrot_group(1152, 256).has_value());
    CHECK_FALSE(ctq::dynamic_convrot_group(128, 256).has_value());

    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o;
    o.primary = tier("int8", "row");
    o.primary.dynamic_convrot = true;
    const ctq::Planner dyn(o, reg);
    auto p = dyn.plan_tensor(tensor("a.weight", {64, 3072}));
    CHECK(p.params.convrot == 1);
    CHECK(p.params.convrot_group_size == 1024);
    CHECK(p.reason == "primary; dynamic ConvRot group 1024 for in_features 3072");
    p = dyn.plan_tensor(tensor("a.weight", {64, 1152}));
    CHECK(p.action == ctq::PlanAction::Quantize);
    CHECK(p.params.convrot == 0);
    CHECK(p.reason ==
          "primary; dynamic ConvRot: no power of 4 >= 256 divides in_features 1152, not rotated");

    o.primary.dynamic_convrot = false;
    o.primary.convrot = true;
    const ctq::Planner fixed(o, reg);
    CHECK(fixed.plan_tensor(tensor("a.weight", {64, 512})).params.convrot_group_size == 256);
    p = fixed.plan_tensor(tensor("a.weight", {64, 200}));
    CHECK(p.params.convrot == 0);
    CHECK(p.reason == "primary; ConvRot group 256 does not divide in_features 200, not rotated");

    o.primary = tier("int8", "tensor");
    o.primary.convrot = true;
    p = ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 512}));
    CHECK(p.params.convrot == 0);
    CHECK(p.reason == "primary; ConvRot ignored (per-row INT8 only)");

    o.primary = tier("int8", "row");
    o.primary.convrot = true;
    o.primary.convrot_group_size = 100;
    CHECK(error_of(o, reg).find("not a power of 4") != std::string::npos);
    o.primary.convrot_group_size = 128;  // a power of 2 only: Sylvester, not what ComfyUI runs
    CHECK(error_of(o, reg).find("not a power of 4") != std::string::npos);
    o.primary.convrot_group_size = 64;
    CHECK(error_of(o, reg).empty());
}

TEST_CASE("full_precision_matrix_mult: layouts that need it, global flag, per tier") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o;
    o.primary.layout = "float8_e5m2";  // CTQ_LAYOUT_NEEDS_FPMM
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64})).params.full_precision_mm ==
          1);
    o.primary = tier("fp8", "tensor");
    o.primary.full_precision_mm = true;
    o.fallback = tier("fp8", "row");
    o.exclude_layers = "x";
    const ctq::Planner planner(o, reg);
    CHECK(planner.plan_tensor(tensor("a.weight", {64, 64})).params.full_precision_mm == 1);
    CHECK(planner.plan_tensor(tensor("x.weight", {64, 64})).params.full_precision_mm == 1);
}

TEST_CASE("input_scale: --input_scale, and the text-encoder rule of presets") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    auto p = ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64}));
    CHECK_FALSE(p.input_scale);
    o.input_scale = true;
    p = ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64}));
    CHECK(p.input_scale);
    CHECK_FALSE(p.input_scale_from_text_encoder);
    o.input_scale = false;
    o.presets = {"qwen35"};  // implies generic_text
    const ctq::Planner qwen(o, reg);
    CHECK(qwen.text_encoder_rule());
    REQUIRE(qwen.active_presets().size() == 2);
    CHECK(qwen.active_presets()[1].name == "generic_text");
    p = qwen.plan_tensor(tensor("a.weight", {64, 64}));
    CHECK(p.input_scale);
    CHECK(p.input_scale_from_text_encoder);
    CHECK_FALSE(qwen.plan_tensor(tensor("x.layers.0.a.weight", {64, 64})).input_scale);  // kept
    // FP8 layouts only: ComfyUI's INT8 layouts take no input_scale.
    o.primary = tier("int8", "row");
    p = ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64}));
    CHECK(p.action == ctq::PlanAction::Quantize);
    CHECK_FALSE(p.input_scale);
    CHECK_FALSE(p.input_scale_from_text_encoder);
    o.presets.clear();
    o.input_scale = true;
    CHECK_FALSE(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64})).input_scale);
    o.primary = ctq::TierFormat{};
    o.primary.layout = "float8_e5m2";
    CHECK(ctq::Planner(o, reg).plan_tensor(tensor("a.weight", {64, 64})).input_scale);
}

TEST_CASE("automatic output names (REFERENCE 1.2)") {
    ctq::PlanOptions o = fp8_tensor_simple();
    CHECK(ctq::auto_output_name("/m/flux.safetensors", o) ==
          "/m/flux_simple_fp8_tensor.safetensors");
    o.primary.simple = false;
    o.presets = {"flux2"};
    CHECK(ctq::auto_output_name("flux.safetensors", o) ==
          "flux_learned_fp8mixed_tensor.safetensors");
    o.presets.clear();
    o.primary = tier("int8", "row");
    CHECK(ctq::auto_output_name("a.b.safetensors", o) == "a.b_learned_int8_rowwise.safetensors");
    o.primary = tier("int8", "tensor");
    o.custom_layers = "x";
    CHECK(ctq::auto_output_name("m.safetensors", o) ==
          "m_learned_int8mixed_tensorwise.safetensors");
    o.custom_layers.clear();
    o.primary = tier("int8", "block");
    CHECK(ctq::auto_output_name("m.safetensors", o) == "m_learned_int8_bs128.safetensors");
    o.primary = tier("int8", "block", 64);
    o.primary.simple = true;
    CHECK(ctq::auto_output_name("m.safetensors", o) == "m_simple_int8_bs64.safetensors");
    o.primary = tier("fp8", "block");
    CHECK(ctq::auto_output_name("m.safetensors", o) == "m_learned_fp8_block.safetensors");
    o.primary = ctq::TierFormat{};
    o.primary.layout = "float8_e5m2";
    CHECK(ctq::auto_output_name("m.safetensors", o) == "m_learned_float8_e5m2.safetensors");
    CHECK(ctq::template_output_name("/x/m.safetensors") == "/x/m_layer_config_template.json");
}

TEST_CASE("the layer-config template equals the reference's for tiny_flux") {
    ctq::SafetensorsReader in("../shared/golden/tiny_flux.safetensors");
    ctq::TemplateCounts counts;
    const auto tmpl = ctq::create_template(in.tensors(), &counts);
    std::ifstream f("../shared/golden/tiny_flux_layer_config_template.json");
    std::stringstream ss;
    ss << f.rdbuf();
    CHECK(ctq::dump_template(tmpl) == ss.str());  // byte for byte, key order included
    CHECK(counts.written == 16);
    CHECK(counts.skipped_not_2d == 1);  // the 4-D conv
}

TEST_CASE("the --dry-run table lists tier, format and reason per tensor and totals") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"t5xxl"};
    o.custom = tier("int8", "row");
    o.custom_layers = "wo";
    const auto plans = ctq::Planner(o, reg).plan(
        {tensor("enc.wo.weight", {64, 64}), tensor("enc.q.weight", {64, 64}),
         tensor("enc.norm.weight", {64}), tensor("decoder.q.weight", {64, 64})});
    const std::string table = ctq::format_plan_table(plans);
    CHECK(table.find("int8_tensorwise/row") != std::string::npos);
    CHECK(table.find("float8_e4m3fn rtn") != std::string::npos);
    CHECK(table.find("t5xxl remove: 'decoder'") != std::string::npos);
    CHECK(table.find("1-D tensor") != std::string::npos);
    CHECK(table.find("4 tensors: 2 quantized, 1 kept, 1 dropped") != std::string::npos);
    CHECK(table.find("1 x custom int8_tensorwise/row") != std::string::npos);
    CHECK(table.find("1 x primary float8_e4m3fn rtn") != std::string::npos);
}
