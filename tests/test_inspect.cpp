// `ctq inspect`: grouping by block, preset fit, and the --exclude-layers suggestion.
#include "test_plan_support.hpp"

#include "inspect/inspect.hpp"
#include "inspect/preset_fit.hpp"
#include "io/safetensors_reader.hpp"

#include <regex>

namespace {

using namespace plan_test;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("tensors group by block index; a stack of one named like a block is still a block") {
    const std::vector<ctq::TensorInfo> ts = {
        tensor("blocks.10.attn.weight", {8, 8}),
        tensor("blocks.2.attn.weight", {8, 8}),
        tensor("blocks.2.attn.bias", {8}),
        tensor("blocks.10.attn.bias", {8}),
        tensor("final_layer.adaLN_modulation.1.weight", {8, 8}),
        tensor("final_layer.linear.weight", {8, 8}),
        tensor("encoder.block.0.q.weight", {8, 8}),
        tensor("img_in.weight", {8, 8})};
    const auto groups = ctq::group_tensors(ts);
    std::vector<std::string> names;
    for (const auto& g : groups) names.push_back(g.name);
    CHECK(names == std::vector<std::string>{"blocks.2", "blocks.10", "encoder.block.0",
                                            "final_layer", "img_in"});
    CHECK(groups[0].is_block);
    CHECK(groups[0].stack == "blocks");
    CHECK(groups[2].is_block);        // "block" names a stack
    CHECK_FALSE(groups[3].is_block);  // adaLN_modulation.1 is not a block index
    CHECK(groups[3].tensors.size() == 2);
    CHECK(groups[0].tensors[0]->name == "blocks.2.attn.bias");
    CHECK(ctq::same_structure(groups[0], groups[1]));
    CHECK_FALSE(ctq::same_structure(groups[0], groups[2]));
    CHECK(ctq::natural_less("a.2.x", "a.10.x"));
    CHECK_FALSE(ctq::natural_less("a.10.x", "a.2.x"));
}

TEST_CASE("a prefix all keys share is kept in group names, not mistaken for the group") {
    const std::vector<ctq::TensorInfo> ts = {
        tensor("model.diffusion_model.img_in.weight", {8, 8}),
        tensor("model.diffusion_model.final_layer.linear.weight", {8, 8}),
        tensor("model.diffusion_model.blocks.0.a.weight", {8, 8}),
        tensor("model.diffusion_model.blocks.1.a.weight", {8, 8})};
    std::vector<std::string> names;
    for (const auto& g : ctq::group_tensors(ts)) names.push_back(g.name);
    CHECK(names == std::vector<std::string>{"model.diffusion_model.blocks.0",
                                            "model.diffusion_model.blocks.1",
                                            "model.diffusion_model.final_layer",
                                            "model.diffusion_model.img_in"});
    CHECK(ctq::suggest_exclude_regex(ctq::group_tensors(ts)) ==
          "^(model\\.diffusion_model\\.final_layer|model\\.diffusion_model\\.img_in)\\.");
}

TEST_CASE("inspect tiny_flux: blocks, sizes, best preset and what it leaves quantized") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    const std::string text = ctq::inspect_file("../shared/golden/tiny_flux.safetensors", reg);
    CHECK(contains(text, "33 tensors"));
    CHECK(contains(text, "metadata: modelspec.title"));
    CHECK(contains(text, "double_blocks.0  (12 tensors, 2.3 MiB)"));
    CHECK(contains(text, "img_mod.lin.weight"));
    CHECK(contains(text, "[1536, 256]"));
    CHECK(contains(text, "16 of 33 tensors are 2-D float weights"));
    CHECK(contains(text, "Best match: --flux2"));
    CHECK(contains(text, "--flux2  keeps 6 weights"));
    CHECK(contains(text, "--exclude-layers \"^(distilled_guidance_layer)\\.\""));
}

TEST_CASE("inspect tiny_t5: the t5xxl preset fits and removes the decoder") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    ctq::SafetensorsReader in("../shared/golden/tiny_t5.safetensors");
    const auto fits = ctq::rank_presets(in.tensors(), reg);
    REQUIRE_FALSE(fits.empty());
    CHECK(fits.front().name == "t5xxl");
    CHECK(fits.front().removed ==
          std::vector<std::string>{"decoder.block.0.layer.0.SelfAttention.q.weight",
                                   "lm_head.weight"});
    const std::string text = ctq::inspect_tensors(in.tensors(), reg);
    CHECK(contains(text, "Best match: --t5xxl"));
    CHECK_FALSE(contains(text, "--exclude-layers"));  // t5xxl handles every non-block weight
}

TEST_CASE("an unknown family gets a ready --exclude-layers regex; repeated blocks collapse") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(kModelsPlugin));
    std::vector<ctq::TensorInfo> ts = {
        tensor("stem.proj.weight", {64, 64}), tensor("head.out.weight", {64, 64}),
        tensor("tok_emb.weight", {100, 64}), tensor("ln.weight", {64})};
    for (int b = 0; b < 4; ++b)
        ts.push_back(tensor("trunk." + std::to_string(b) + ".mix.weight", {64, 64}));
    const std::string text = ctq::inspect_tensors(ts, reg);
    CHECK(contains(text, "Presets that would change layers of this model (best first):\n  none"));
    CHECK(contains(text, "trunk.1 .. trunk.3  (3 more blocks, same tensors as trunk.0)"));
    const std::string regex = ctq::suggest_exclude_regex(ctq::group_tensors(ts));
    CHECK(regex == "^(head|stem|tok_emb)\\.");
    CHECK(contains(text, "--exclude-layers \"" + regex + "\""));
    const std::regex re(regex);
    CHECK(std::regex_search("stem.proj.weight", re));
    CHECK(std::regex_search("tok_emb.weight", re));
    CHECK_FALSE(std::regex_search("trunk.0.mix.weight", re));
    CHECK_FALSE(std::regex_search("stem_extra.weight", re));
}

TEST_CASE("inspect says when a file is already quantized") {
    ctq::Registry reg;
    const std::string text = ctq::inspect_file("../shared/golden/ref_fp8_flux2.safetensors", reg);
    CHECK(contains(text, "already holds 10 quantized layers"));
}
