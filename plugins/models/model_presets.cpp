// The model presets of convert_to_quant 1.3.1 (REFERENCE_SPEC 3.2-3.3) as one table. Each row
// becomes a ctq_preset_desc whose rules_json follows the schema of ctq_plugin.h, so the host has
// no preset list of its own: its flags and help lines come from whatever plugins register.
//
// The substring lists are copied verbatim from the reference's constants.py, typos and all
// (the krea2 entries are truncated on purpose there: `las` also matches `class`).
#include <ctq/plugin.hpp>

#include <nlohmann/json.hpp>

#include <deque>
#include <string>
#include <vector>

namespace {

using Keys = std::vector<const char*>;

const Keys kAvoidKeyNames = {
    "norm", "bias", "embed_tokens", "lm_head", "shared", "patch_embedding",
    "audio_model.patch_embedding", "ref_conv", "control_adapter", "motion_encoder.enc.net_app",
    "face_encoder.conv", "pose_patch_embedding", "motion_encoder.enc.fc", "img_emb.proj", "k_norm",
    "q_norm", "motion_encoder.dec", "head.modulation", "casual_audio_encoder", "cond_encoder",
    "frame_packer", "norm_k", "norm_q", "tekken_model", "multi_modal_projector", "patch_conv",
    "ln_pre", "input_layernorm", "attention_norm", "post_attention_layernorm",
    "mm_input_projection_weight"};
const Keys kT5xxlRemove = {"decoder", "lm_head"};
const Keys kVisualAvoid = {"mlp.down_proj", "mlp.up_proj", "mlp.gate_proj"};
const Keys kQwenAvoid = {"norm_added_k", "norm_added_q", "norm_k", "norm_q", "txt_norm"};
const Keys kHunyuanAvoid = {"layernorm", "img_attn_k_norm", "img_attn_q_norm", "txt_attn_k_norm",
                            "txt_attn_q_norm", "norm1", "norm2", "vision_in.proj.0",
                            "vision_in.proj.4", "img_in.proj", "cond_type_embedding"};
const Keys kZimageAvoid = {"cap_embedder.0", "cap_pad_token", "attention_norm1", "attention_norm2",
                           "ffn_norm1", "ffn_norm2", "k_norm", "q_norm", "x_pad_token"};
const Keys kGemma4Avoid = {"audio", "per_layer_input_gate", "per_layer_projection", "vision",
                           "multi_modal_projector"};
const Keys kFlux2 = {"stream_modulation", "guidance_in", "time_in", "final_layer", "img_in", "txt_in"};
const Keys kDistillLarge = {"distilled_guidance_layer", "final_layer", "img_in", "txt_in"};
const Keys kDistillSmall = {"distilled_guidance_layer"};
const Keys kNerfLarge = {"distilled_guidance_layer", "nerf_blocks", "nerf_image_embedder", "txt_in",
                         "_attn.proj"};
const Keys kNerfSmall = {"distilled_guidance_layer", "nerf_blocks", "nerf_image_embedder"};
const Keys kRadiance = {"img_in_patch", "nerf_final_layer_conv", "__x0__"};
const Keys kWan = {"text_embedding", "time_embedding", "audio_model.text_embedding",
                   "casual_audio_encoder", "frame_packer", "trainable_cond_mask", "cond_encoder",
                   "audio_model.time_embedding", "time_projection", "video_model.time_projection",
                   "head.head", "face_encoder.out_proj", "face_adapter", "audio_injector"};
const Keys kQwen = {"time_text_embed", "img_in", "norm_out", "proj_out",
                    "transformer_blocks.0.img_mod.1", "txt_in"};
const Keys kZimage = {"x_embedder", "clip_text_pooled_proj", "final_layer", "cap_embedder.1",
                      "adaLN_modulation", "t_embedder", "time_text_embed"};
const Keys kZimageRefiner = {"context_refiner", "noise_refiner"};
const Keys kAnima = {"net.blocks.0.", "net.blocks.1.adaln_modulation", "final_layer", "llm_adapter",
                     "t_embedder", "x_embedder"};
const Keys kLens = {"time_text_embed", "img_in", "norm_out", "proj_out", "img_mod.1", "txt_mod.1",
                    "txt_in"};
const Keys kQwen35Avoid = {".layers.0.", ".layers.63.", "lm_head", "embed_tokens", "in_proj_a",
                           "in_proj_b", "visual.pos_embed", "visual.patch_embed", "merger", "mtp.fc",
                           "visual.blocks.0."};
const Keys kLtxv2 = {"scale_shift_table", "text_embedding_projection", "audio_vae",
                     "audio_embeddings_connector", "adaln_single", "audio_adaln_single",
                     "audio_patchify_proj", "audio_proj_out", "audio_prompt_adaln_single",
                     "av_ca_a2v_gate_adaln_single", "av_ca_audio_scale_shift_adaln_single",
                     "av_ca_v2a_gate_adaln_single", "av_ca_video_scale_shift_adaln_single",
                     "patchify_proj", "proj_out", "prompt_adaln_single", "transformer_blocks.0.",
                     "transformer_blocks.1.", "transformer_blocks.46.", "transformer_blocks.47.",
                     "video_embeddings_connector", "vae.decoder", "vae.encoder", "vocoder",
                     "to_gate_logits"};
const Keys kKrea2 = {"firs", "las", "tml", "txtfusion", "last.modulatio", "tpro"};
const Keys kBoogu = {"image_index_embedding", "ref_image_patch_embedder", "time_caption_embed",
                     "x_embedder", "norm_out.linear_1", "norm_out.linear_2"};
const Keys kIdeogram4 = {"embed_image_indicator", "t_embedding", "llm_cond_proj", "adaln_proj",
                         "final_layer", "input_proj"};

const Keys kNone = {};

struct PresetRow {
    const char* name;
    const char* category;
    const char* help;
    const Keys& exclude;
    const Keys& highprec;
    const Keys& remove;
    bool text_encoder_input_scale;
    const char* implies;  // another preset switched on with this one, or nullptr
};

// REFERENCE_SPEC 3.3, in the reference's order (which is also the --help-filters order).
const PresetRow kPresets[] = {
    {"gemma4", "text", "Gemma 4: keep audio/vision towers and per-layer projections",
     kGemma4Avoid, kNone, kNone, false, nullptr},
    {"qwen35", "text", "Qwen3.5 text encoder: keep first/last layers, embeddings, vision stem",
     kQwen35Avoid, kNone, kNone, false, "generic_text"},
    {"t5xxl", "text", "T5-XXL encoder: keep norms/biases/embeddings, drop decoder and lm_head",
     kAvoidKeyNames, kNone, kT5xxlRemove, true, nullptr},
    {"mistral", "text", "Mistral text encoder: keep norms/biases/embeddings",
     kAvoidKeyNames, kNone, kNone, true, nullptr},
    {"visual", "text", "Vision-language encoders: keep the MLP projections",
     kVisualAvoid, kNone, kNone, true, nullptr},
    {"generic_text", "text", "Any text encoder: only the text-encoder input_scale rule",
     kNone, kNone, kNone, true, nullptr},
    {"anima", "diffusion", "Anima: keep first blocks, adapters, embedders, final layer",
     kNone, kAnima, kNone, false, nullptr},
    {"lens", "diffusion", "Lens: keep embedders, modulation and output projections",
     kNone, kLens, kNone, false, nullptr},
    {"flux2", "diffusion", "Flux.2: keep modulation, guidance/time/img/txt inputs, final layer",
     kNone, kFlux2, kNone, false, nullptr},
    {"distillation_large", "diffusion", "Chroma: keep distilled guidance, final layer, img/txt inputs",
     kNone, kDistillLarge, kNone, false, nullptr},
    {"distillation_small", "diffusion", "Chroma: keep only the distilled guidance layer",
     kNone, kDistillSmall, kNone, false, nullptr},
    {"nerf_large", "diffusion", "Chroma Radiance: keep guidance, NeRF blocks/embedder, txt input, _attn.proj",
     kNone, kNerfLarge, kNone, false, nullptr},
    {"nerf_small", "diffusion", "Chroma Radiance: keep guidance and NeRF blocks/embedder",
     kNone, kNerfSmall, kNone, false, nullptr},
    {"radiance", "diffusion", "Radiance: keep patch input, NeRF final conv and x0 layers",
     kNone, kRadiance, kNone, false, nullptr},
    {"krea2", "diffusion", "Krea 2: keep first/last/fusion layers (truncated substrings, as the reference)",
     kNone, kKrea2, kNone, false, nullptr},
    {"ideogram4", "diffusion", "Ideogram 4: keep embedders, conditioning and final layers",
     kNone, kIdeogram4, kNone, false, nullptr},
    {"wan", "video", "Wan: keep norms/embeddings, time/text embeddings, audio and face adapters, head",
     kAvoidKeyNames, kWan, kNone, false, nullptr},
    {"hunyuan", "video", "HunyuanVideo: keep norms, vision/img inputs, condition embedding",
     kHunyuanAvoid, kNone, kNone, false, nullptr},
    {"qwen", "image", "Qwen-Image: keep norms, embedders, first modulation, output projections",
     kQwenAvoid, kQwen, kNone, false, nullptr},
    {"zimage", "image", "Z-Image: keep norms, pad tokens, embedders, adaLN modulation, final layer",
     kZimageAvoid, kZimage, kNone, false, nullptr},
    {"zimage_refiner", "image", "Z-Image: keep norms, pad tokens and the context/noise refiners",
     kZimageAvoid, kZimageRefiner, kNone, false, nullptr},
    {"boogu", "image", "Boogu: keep embedders and output norm linears",
     kNone, kBoogu, kNone, false, nullptr},
    {"ltxv2", "video", "LTX-2: keep adaLN, patchify, connectors, VAE/vocoder, first/last two blocks",
     kNone, kLtxv2, kNone, false, nullptr},
};

std::string rules_json(const PresetRow& row) {
    nlohmann::ordered_json j;
    j["name"] = row.name;
    j["help"] = row.help;
    j["category"] = row.category;
    auto list = [](const Keys& keys) {
        nlohmann::json a = nlohmann::json::array();
        for (const char* k : keys) a.push_back(k);
        return a;
    };
    if (!row.exclude.empty()) j["exclude"] = list(row.exclude);
    if (!row.highprec.empty()) j["highprec"] = list(row.highprec);
    if (!row.remove.empty()) j["remove"] = list(row.remove);
    if (row.text_encoder_input_scale) j["text_encoder_input_scale"] = true;
    if (row.implies) j["implies"] = nlohmann::json::array({row.implies});
    return j.dump();
}

}  // namespace

CTQ_PLUGIN("models", "1.3.1", "model presets of convert_to_quant 1.3.1 (--t5xxl, --flux2 ...)") {
    // Descriptors must outlive the call: static storage, filled once.
    static std::deque<std::string> json_texts;
    static std::vector<ctq_preset_desc> descs;
    if (descs.empty()) {
        for (const PresetRow& row : kPresets) {
            json_texts.push_back(rules_json(row));
            descs.push_back(ctq_preset_desc{sizeof(ctq_preset_desc), row.name, row.help,
                                            row.category, json_texts.back().c_str()});
        }
    }
    for (const auto& d : descs) reg.add(d);
}
