// Test-only preset plugin built from the SDK alone: a model family "toynet" whose rules exercise
// every field of the preset schema, and a preset with invalid rules.
#include <ctq/plugin.hpp>

CTQ_PLUGIN("test_preset", "0", "a preset for tests") {
    static const ctq_preset_desc toynet{
        sizeof(ctq_preset_desc), "toynet",
        "ToyNet: keep img_in and the first block, drop aux heads", "diffusion",
        R"({"name": "toynet", "category": "diffusion", "help": "ToyNet",
            "exclude": ["img_in"], "highprec": ["double_blocks.0."], "remove": ["vae_like"],
            "implies": ["toynet_te"]})"};
    static const ctq_preset_desc toynet_te{
        sizeof(ctq_preset_desc), "toynet_te", "ToyNet text side: input_scale rule only", "text",
        R"({"name": "toynet_te", "text_encoder_input_scale": true})"};
    // Registers fine (the host checks rules when a run uses them): planning must name it.
    static const ctq_preset_desc broken{sizeof(ctq_preset_desc), "toynet_broken",
                                        "rules with a wrong type", "diffusion",
                                        R"({"name": "toynet_broken", "exclude": "img_in"})"};
    reg.add(toynet);
    reg.add(toynet_te);
    reg.add(broken);
}
