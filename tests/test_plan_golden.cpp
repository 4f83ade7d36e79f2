// The planner makes the same keep / drop / quantize decisions as convert_to_quant 1.3.1 did for
// the golden files (../shared/golden/README.md): a layer is quantized iff the reference wrote
// <base>.comfy_quant, dropped iff the key is absent from its output, kept otherwise.
#include "test_plan_support.hpp"

#include "io/safetensors_reader.hpp"
#include "plan/planner.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

namespace {

using namespace plan_test;

struct Expected {
    ctq::PlanAction action;
    std::string format;  // .comfy_quant "format" when quantized
    bool input_scale = false;
};

std::map<std::string, Expected> expected_from_reference(const ctq::SafetensorsReader& input,
                                                        const ctq::SafetensorsReader& ref) {
    std::map<std::string, Expected> out;
    for (const auto& t : input.tensors()) {
        const std::string base = t.name.size() > 7 && t.name.substr(t.name.size() - 7) == ".weight"
                                     ? t.name.substr(0, t.name.size() - 7)
                                     : t.name;
        Expected e{ctq::PlanAction::Copy, "", false};
        if (const auto* cq = ref.find(base + ".comfy_quant"); cq && base != t.name) {
            const auto* bytes = ref.data(*cq);
            const auto j = nlohmann::json::parse(bytes, bytes + cq->nbytes());
            e = Expected{ctq::PlanAction::Quantize, j.at("format").get<std::string>(),
                         ref.find(base + ".input_scale") != nullptr};
        } else if (!ref.find(t.name)) {
            e.action = ctq::PlanAction::Drop;
        }
        out[t.name] = e;
    }
    return out;
}

// Plans `input` with one preset and compares with the reference output `ref`; returns the
// number of tensors of each action so callers can check the test saw all three kinds.
std::map<ctq::PlanAction, int> check_against_reference(const ctq::Registry& reg, const char* input,
                                                       const char* ref, const char* preset) {
    ctq::SafetensorsReader in(input), out(ref);
    const auto expected = expected_from_reference(in, out);
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {preset};
    const auto plans = ctq::Planner(o, reg).plan(in.tensors());
    REQUIRE(plans.size() == in.tensors().size());
    std::map<ctq::PlanAction, int> counts;
    for (size_t i = 0; i < plans.size(); ++i) {
        const auto& p = plans[i];
        CAPTURE(p.key);
        CAPTURE(p.reason);
        REQUIRE(p.key == in.tensors()[i].name);  // same order as given
        const Expected& e = expected.at(p.key);
        CHECK(p.action == e.action);
        if (p.action == ctq::PlanAction::Quantize && e.action == p.action) {
            CHECK(std::string(p.layout->name) == e.format);
            CHECK(p.tier == "primary");
            CHECK(p.method == ctq::RoundingMethod::Nearest);
            CHECK(p.input_scale == e.input_scale);
        }
        ++counts[p.action];
    }
    return counts;
}

}  // namespace

TEST_CASE("--flux2 keeps and quantizes what the reference did") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    auto n = check_against_reference(reg, "../shared/golden/tiny_flux.safetensors",
                                     "../shared/golden/ref_fp8_flux2.safetensors", "flux2");
    CHECK(n[ctq::PlanAction::Quantize] > 0);
    CHECK(n[ctq::PlanAction::Copy] > 0);
}

TEST_CASE("--distillation_large keeps and quantizes what the reference did") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    auto n = check_against_reference(reg, "../shared/golden/tiny_flux.safetensors",
                                     "../shared/golden/ref_fp8_distill.safetensors",
                                     "distillation_large");
    CHECK(n[ctq::PlanAction::Quantize] > 0);
    CHECK(n[ctq::PlanAction::Copy] > 0);
}

TEST_CASE("--t5xxl drops the decoder and lm_head, keeps embeddings, as the reference did") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    auto n = check_against_reference(reg, "../shared/golden/tiny_t5.safetensors",
                                     "../shared/golden/ref_fp8_t5xxl.safetensors", "t5xxl");
    CHECK(n[ctq::PlanAction::Quantize] == 14);
    CHECK(n[ctq::PlanAction::Drop] == 2);
    CHECK(n[ctq::PlanAction::Copy] > 0);
}

TEST_CASE("the flux2 plan names the substring that kept a layer") {
    ctq::Registry reg;
    load_models_and_fake_layouts(reg);
    ctq::SafetensorsReader in("../shared/golden/tiny_flux.safetensors");
    ctq::PlanOptions o = fp8_tensor_simple();
    o.presets = {"flux2"};
    const ctq::Planner planner(o, reg);
    CHECK(planner.plan_tensor(*in.find("img_in.weight")).reason == "flux2 highprec: 'img_in'");
    CHECK(planner.plan_tensor(*in.find("vae_like.conv.weight")).reason == "4-D tensor");
    CHECK(planner.plan_tensor(*in.find("img_in.bias")).reason == "1-D tensor");
    CHECK(planner.plan_tensor(*in.find("double_blocks.0.img_attn.qkv.weight")).reason == "primary");
}

TEST_CASE("with the real fp8 plugin the decisions are the same") {
    const std::filesystem::path fp8 = CTQ_BINARY_DIR "/bin/plugins/ctq_fp8.so";
    if (!std::filesystem::exists(fp8)) {
        MESSAGE("ctq_fp8.so not built: skipped");
        return;
    }
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    REQUIRE(reg.load_file(fp8));
    auto n = check_against_reference(reg, "../shared/golden/tiny_flux.safetensors",
                                     "../shared/golden/ref_fp8_flux2.safetensors", "flux2");
    CHECK(n[ctq::PlanAction::Quantize] > 0);
}
