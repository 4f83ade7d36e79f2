// Model presets: the models plugin's table, JSON presets (--preset FILE.json) equivalent to the
// compiled ones, a third-party preset plugin found by load_dir, and --help-filters.
#include "test_plan_support.hpp"

#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "plan/planner.hpp"
#include "plan/preset_rules.hpp"
#include "plan/presets_help.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace {

using namespace plan_test;
using Strings = std::vector<std::string>;

ctq::PresetRules rules_of(const ctq::Registry& reg, const char* name) {
    const ctq_preset_desc* d = reg.preset(name);
    REQUIRE(d);
    return ctq::parse_preset_rules(d->rules_json, name);
}

std::string load_error(ctq::Registry& reg, const std::string& json) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("ctq_test_preset_" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << json;
    std::string what;
    try {
        ctq::load_preset_file(reg, path);
    } catch (const ctq::CtqError& e) {
        what = e.what();
    }
    std::filesystem::remove(path);
    return what;
}

}  // namespace

TEST_CASE("the models plugin registers the reference's 23 filters in its order") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    const Strings expected = {"gemma4",
                              "qwen35",
                              "t5xxl",
                              "mistral",
                              "visual",
                              "generic_text",
                              "anima",
                              "lens",
                              "flux2",
                              "distillation_large",
                              "distillation_small",
                              "nerf_large",
                              "nerf_small",
                              "radiance",
                              "krea2",
                              "ideogram4",
                              "wan",
                              "hunyuan",
                              "qwen",
                              "zimage",
                              "zimage_refiner",
                              "boogu",
                              "ltxv2"};
    Strings names;
    for (const auto* p : reg.presets()) names.push_back(p->name);
    CHECK(names == expected);
    for (const auto& n : expected) {
        const auto r = rules_of(reg, n.c_str());  // every rules document parses
        CHECK(r.name == n);
        CHECK(r.category == reg.preset(n)->category);
    }
    // List sizes of REFERENCE_SPEC 3.2 and the behaviours of 3.3.
    CHECK(rules_of(reg, "t5xxl").exclude.size() == 31);
    CHECK(rules_of(reg, "t5xxl").remove == Strings{"decoder", "lm_head"});
    CHECK(rules_of(reg, "t5xxl").text_encoder_input_scale);
    CHECK(rules_of(reg, "mistral").exclude == rules_of(reg, "t5xxl").exclude);
    CHECK(rules_of(reg, "mistral").remove.empty());
    CHECK(rules_of(reg, "wan").exclude == rules_of(reg, "t5xxl").exclude);
    CHECK(rules_of(reg, "wan").highprec.size() == 14);
    CHECK_FALSE(rules_of(reg, "wan").text_encoder_input_scale);
    CHECK(rules_of(reg, "qwen35").implies == Strings{"generic_text"});
    CHECK(rules_of(reg, "qwen35").exclude.size() == 11);
    CHECK(rules_of(reg, "generic_text").exclude.empty());
    CHECK(rules_of(reg, "generic_text").text_encoder_input_scale);
    CHECK(rules_of(reg, "krea2").highprec ==
          Strings{"firs", "las", "tml", "txtfusion", "last.modulatio", "tpro"});
    CHECK(rules_of(reg, "flux2").highprec == Strings{"stream_modulation", "guidance_in", "time_in",
                                                     "final_layer", "img_in", "txt_in"});
    CHECK(rules_of(reg, "ltxv2").highprec.size() == 25);
    CHECK(rules_of(reg, "hunyuan").exclude.size() == 11);
    CHECK(rules_of(reg, "zimage").exclude.size() == 9);
    CHECK(rules_of(reg, "zimage").highprec.size() == 7);
    CHECK(rules_of(reg, "zimage_refiner").highprec == Strings{"context_refiner", "noise_refiner"});
    CHECK(rules_of(reg, "qwen").exclude ==
          Strings{"norm_added_k", "norm_added_q", "norm_k", "norm_q", "txt_norm"});
    CHECK(rules_of(reg, "anima").highprec.front() == "net.blocks.0.");
}

TEST_CASE("presets/t5xxl.json plans tiny_t5 exactly as the compiled --t5xxl") {
    ctq::Registry compiled, from_file;
    load_models_and_fake_layouts(compiled);
    REQUIRE(from_file.load_file(kFakeLayouts));
    const std::string name = ctq::load_preset_file(from_file, "presets/t5xxl.json");
    CHECK(name == "t5xxl");

    const auto a = rules_of(compiled, "t5xxl"), b = rules_of(from_file, "t5xxl");
    CHECK(a.exclude == b.exclude);
    CHECK(a.highprec == b.highprec);
    CHECK(a.remove == b.remove);
    CHECK(a.implies == b.implies);
    CHECK(a.text_encoder_input_scale == b.text_encoder_input_scale);

    ctq::SafetensorsReader in("../shared/golden/tiny_t5.safetensors");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"t5xxl"};
    const auto pa = ctq::Planner(o, compiled).plan(in.tensors());
    const auto pb = ctq::Planner(o, from_file).plan(in.tensors());
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
        CAPTURE(pa[i].key);
        CHECK(pa[i].action == pb[i].action);
        CHECK(pa[i].reason == pb[i].reason);
        CHECK(pa[i].input_scale == pb[i].input_scale);
        CHECK((pa[i].layout ? pa[i].layout->name : "") ==
              std::string(pb[i].layout ? pb[i].layout->name : ""));
    }
}

TEST_CASE("a preset plugin built from the SDK alone is found by load_dir and plans layers") {
    ctq::Registry reg;
    reg.load_dir(CTQ_BINARY_DIR "/test_plugins");
    for (const auto& f : reg.failures()) MESSAGE(f.file.string() << ": " << f.reason);
    REQUIRE(reg.preset("toynet"));
    REQUIRE(reg.layout("float8_e4m3fn"));
    ctq::SafetensorsReader in("../shared/golden/tiny_flux.safetensors");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"toynet"};
    const ctq::Planner planner(o, reg);
    CHECK(planner.active_presets().size() == 2);  // implies toynet_te
    auto p = planner.plan_tensor(*in.find("img_in.weight"));
    CHECK(p.action == ctq::PlanAction::Copy);
    CHECK(p.reason == "toynet exclude: 'img_in'");
    p = planner.plan_tensor(*in.find("double_blocks.0.img_attn.qkv.weight"));
    CHECK(p.reason == "toynet highprec: 'double_blocks.0.'");
    p = planner.plan_tensor(*in.find("vae_like.conv.weight"));
    CHECK(p.action == ctq::PlanAction::Drop);
    p = planner.plan_tensor(*in.find("txt_in.weight"));
    CHECK(p.action == ctq::PlanAction::Quantize);
    CHECK(p.input_scale);  // from the implied toynet_te
    CHECK(p.input_scale_from_text_encoder);

    // A plugin preset with invalid rules is an error naming it when a run activates it.
    o.presets = {"toynet_broken"};
    CHECK_THROWS_WITH_AS(ctq::Planner(o, reg), doctest::Contains("preset 'toynet_broken'"),
                         ctq::CtqError);
    CHECK(ctq::presets_help(reg).find("[invalid rules: ") != std::string::npos);
}

TEST_CASE("preset files are validated: fields, types, duplicate names") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    CHECK(load_error(reg, R"({"name": "x", "exclud": ["a"]})")
              .find("unknown preset field \"exclud\"") != std::string::npos);
    CHECK(load_error(reg, R"({"name": "x", "exclude": "a"})").find("must be an array of strings") !=
          std::string::npos);
    CHECK(load_error(reg, R"({"name": "x", "remove": [""]})").find("non-empty strings") !=
          std::string::npos);
    CHECK(
        load_error(reg, R"({"name": "x", "text_encoder_input_scale": 1})").find("true or false") !=
        std::string::npos);
    CHECK(load_error(reg, R"({"exclude": ["a"]})").find("non-empty string \"name\"") !=
          std::string::npos);
    CHECK(load_error(reg, R"({"name": "x",)").find("not valid JSON") != std::string::npos);
    CHECK(load_error(reg, R"({"name": "dup"})").empty());
    CHECK(load_error(reg, R"({"name": "dup"})").find("already defined") != std::string::npos);
    CHECK(load_error(reg, R"({"name": "mine", "_comment": "ok", "implies": ["t5xxl"]})").empty());
    CHECK(reg.preset("mine"));
    CHECK(load_error(reg, R"({"name": "mine2", "implies": ["nosuch"]})").empty());
    ctq::PlanOptions o;
    o.presets = {"mine2"};
    CHECK_THROWS_WITH_AS(ctq::resolve_presets(o.presets, reg),
                         doctest::Contains("unknown preset 'nosuch' (implied by 'mine2')"),
                         ctq::CtqError);
    // Implied presets resolve transitively, each once, in order of first mention.
    std::vector<std::string> order;
    for (const auto& r : ctq::resolve_presets({"mine", "qwen35", "t5xxl"}, reg))
        order.push_back(r.name);
    CHECK(order == Strings{"mine", "t5xxl", "qwen35", "generic_text"});
    CHECK_THROWS_WITH_AS(ctq::load_preset_file(reg, "/nonexistent/p.json"),
                         doctest::Contains("/nonexistent/p.json"), ctq::CtqError);
    // Registry::add_preset_json (what the CLI calls) checks the same schema.
    CHECK_THROWS_WITH_AS(reg.add_preset_json(R"({"name": "y", "exclude": [1]})", "y.json"),
                         doctest::Contains("y.json"), ctq::CtqError);
    CHECK_FALSE(reg.preset("y"));
    // The shipped example parses too.
    CHECK(ctq::load_preset_file(reg, "presets/ernie_image.json") == "ernie_image");
}

TEST_CASE("--help-filters comes from the registry, grouped by category") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    REQUIRE(ctq::load_preset_file(reg, "presets/ernie_image.json") == "ernie_image");
    const std::string help = ctq::presets_help(reg);
    for (const auto* p : reg.presets())
        CHECK(help.find(std::string("--") + p->name + " ") != std::string::npos);
    const auto text = help.find(" text:"), diffusion = help.find(" diffusion:"),
               video = help.find(" video:"), image = help.find(" image:");
    CHECK(text < diffusion);
    CHECK(diffusion < video);
    CHECK(video < image);
    CHECK(image < help.find("--ernie_image"));
    CHECK(help.find("--t5xxl") < diffusion);
    CHECK(help.find("--ltxv2") > video);
    CHECK(help.find("--ltxv2") < image);
    CHECK(help.find("[drops keys containing: decoder, lm_head]") != std::string::npos);
    CHECK(help.find("[implies --generic_text]") != std::string::npos);

    ctq::Registry empty;
    CHECK(ctq::presets_help(empty).find("none registered") != std::string::npos);
}
