#include "cli/convert_options.hpp"

#include "cli/argv_normalize.hpp"
#include "core/error.hpp"
#include "plan/presets_help.hpp"
#include "plugins/registry.hpp"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace po = boost::program_options;

namespace ctq {

namespace {

// Option groups mirror the reference's help sections (-h, -hl, -ha, -he, -hf, -hm).
struct OptionGroups {
    po::options_description standard{"Standard options"};
    po::options_description learned{"Learned rounding (--help_learned)"};
    po::options_description advanced{"Advanced learned-rounding knobs (--help_advanced)"};
    po::options_description experimental{"Formats, tiers and layer selection (--help_experimental)"};
    po::options_description filters{"Model presets (--help_filters)"};
    po::options_description modes{"Modes (--help_modes)"};
    po::options_description all;
};

void add_standard(OptionGroups& g, ConvertOptions& o) {
    g.standard.add_options()
        ("help,h", "show this help; see also --help_learned, --help_advanced, --help_experimental, --help_filters, --help_modes")
        ("input,i", po::value(&o.input), "input .safetensors file")
        ("output,o", po::value(&o.output), "output file (default: the reference's automatic name beside the input)")
        ("comfy_quant", po::bool_switch(), "accepted for compatibility: ctq always writes .comfy_quant tensors")
        ("simple", po::bool_switch(&o.plan.primary.simple), "round to nearest, no learned rounding")
        ("full_precision_matrix_mult", po::bool_switch(&o.plan.primary.full_precision_mm),
         "mark quantized layers full_precision_matrix_mult (-fpmm): ComfyUI dequantizes instead of an FP8/INT8 matmul")
        ("heur", po::bool_switch(&o.plan.primary.heur), "skip layers whose dimensions are not multiples of the block size")
        ("device", po::value(&o.device)->default_value("cpu"), "cpu or cuda[:N]")
        ("verbose", po::value(&o.verbose)->default_value("NORMAL"), "DEBUG, VERBOSE, NORMAL or MINIMAL")
        ("manual_seed", po::value(&o.manual_seed)->default_value(-1), "seed of every random draw; -1 picks one")
        ("save_quant_metadata", po::bool_switch(&o.save_quant_metadata), "also write _quantization_metadata into the header")
        ("report", po::value(&o.report), "write a per-layer JSON report (format, shape, scale statistics, error, SNR)")
        ("plugin_dir", po::value<std::vector<std::string>>()->composing(), "extra folder to load plugins from (repeatable)")
        ("threads", po::value(&o.threads)->default_value(0), "CPU threads (0: all cores)")
        ("no_progress", po::bool_switch(), "plain log lines instead of a progress bar")
        ("low_memory", po::bool_switch(), "accepted for compatibility: ctq always streams")
        ("verbose_pinned", po::bool_switch(), "accepted for compatibility; no effect");
}

void add_learned(OptionGroups& g, ConvertOptions& o) {
    auto& l = o.learned;
    g.learned.add_options()
        ("optimizer", po::value(&l.optimizer)->default_value("search"),
         "search (ctq's discrete search on the rounded weights), or the reference's original, adamw, radam, prodigy")
        ("full_error_weight", po::value<double>(),
         "trade-off knob of the search: weight of the full weight error against the subspace error (default 2; "
         "larger keeps the full error nearer round-to-nearest, smaller buys more subspace reduction)")
        ("max_full_ratio", po::value(&l.max_full_ratio)->default_value(1.005, "1.005"),
         "hard cap: a learned result whose full weight error exceeds this multiple of round-to-nearest's is not kept")
        ("subspace_bound", po::bool_switch(&l.subspace_bound),
         "also compute per layer a certified lower bound on the subspace error any rounding between the two grid "
         "neighbours can reach within --max_full_ratio (convex relaxation; up to 300 steps of two subspace GEMM pairs "
         "each: on the CPU several times the search's own time)")
        ("num_iter", po::value(&l.num_iter)->default_value(4000), "maximum iterations per layer")
        ("lr", po::value(&l.lr)->default_value(1.0), "initial learning rate (optimizers)")
        ("lr_schedule", po::value(&l.lr_schedule)->default_value("plateau"), "adaptive, exponential or plateau")
        ("top_p", po::value(&l.top_p)->default_value(0.2, "0.2"), "fraction of min(M,N) used as SVD rank")
        ("min_k", po::value(&l.min_k)->default_value(256), "lower bound on the rank")
        ("max_k", po::value(&l.max_k)->default_value(1280), "upper bound on the rank")
        ("full_matrix", po::bool_switch(), "exact top-k subspace (the default; accepted for compatibility)")
        ("randomized_svd", po::bool_switch(),
         "the reference's seeded randomized SVD (oversample 10, 4 power iterations) instead of the exact subspace: "
         "faster on large layers, but a search tuned to that approximate basis overstates its gain")
        ("calib_samples", po::value(&o.calib_samples)->default_value(3072), "rows of synthetic data for --bias_correction")
        ("bias_correction", po::value(&o.bias_correction),
         "'synthetic': the reference's bias 'correction' on random N(0,1) inputs. Off by default: zero-mean synthetic "
         "inputs carry no information about real activations, so it only adds noise to every bias")
        ("calib_cpu", po::bool_switch(), "accepted for compatibility; no effect");
}

void add_advanced(OptionGroups& g, ConvertOptions& o) {
    auto& l = o.learned;
    g.advanced.add_options()
        ("lr_gamma", po::value(&l.lr_gamma)->default_value(0.99, "0.99"), "exponential schedule factor")
        ("lr_patience", po::value(&l.lr_patience)->default_value(1), "plateau: non-improving steps before decay")
        ("lr_factor", po::value(&l.lr_factor)->default_value(0.95, "0.95"), "plateau decay factor")
        ("lr_min", po::value(&l.lr_min)->default_value(1e-8, "1e-8"), "learning-rate floor")
        ("lr_cooldown", po::value(&l.lr_cooldown)->default_value(0), "plateau cooldown steps")
        ("lr_threshold", po::value(&l.lr_threshold)->default_value(0.0), "minimum improvement")
        ("lr_threshold_mode", po::value(&l.lr_threshold_mode)->default_value("rel"), "rel or abs")
        ("lr_adaptive_mode", po::value(&l.lr_adaptive_mode)->default_value("simple-reset"), "simple-reset or no-reset")
        ("lr_shape_influence", po::value(&l.lr_shape_influence)->default_value(1.0), "plateau factor blending by aspect ratio")
        ("early_stop_loss", po::value(&l.early_stop_loss)->default_value(5e-9, "5e-9"), "stop when the loss is at most this")
        ("early_stop_lr", po::value(&l.early_stop_lr)->default_value(1.01e-8, "1.01e-8"), "stop when the learning rate is at most this")
        ("early_stop_stall", po::value(&l.early_stop_stall)->default_value(2000), "stop after this many non-improving steps")
        ("use_speed", po::bool_switch(&l.use_speed), "Prodigy use_speed");
}

void add_experimental(OptionGroups& g, ConvertOptions& o) {
    auto& p = o.plan;
    g.experimental.add_options()
        ("int8", po::bool_switch(), "INT8 (block-wise unless --scaling_mode tensor or row)")
        ("format", po::value(&p.primary.layout), "any registered layout by name (see `ctq plugins`), e.g. float8_e5m2")
        ("nvfp4", po::bool_switch(), "NVFP4 (not implemented in ctq yet)")
        ("mxfp8", po::bool_switch(), "MXFP8 (not implemented in ctq yet)")
        ("scaling_mode", po::value(&p.primary.scaling_mode)->default_value("tensor"), "tensor, row or block (block2d, block3d)")
        ("block_size", po::value(&p.primary.block_size)->default_value(0), "block size (default 128 where blocks apply)")
        ("convrot", po::bool_switch(&p.primary.convrot), "group-Hadamard rotation (INT8 row-wise only)")
        ("convrot_group_size", po::value(&p.primary.convrot_group_size)->default_value(256), "Hadamard group (power of 4)")
        ("dynamic_convrot", po::bool_switch(&p.primary.dynamic_convrot), "per layer: largest power-of-4 group dividing in_features")
        ("exclude_layers", po::value(&p.exclude_layers), "regex (search on the full key): keep these layers in high precision")
        ("custom_layers", po::value(&p.custom_layers), "regex selecting the custom tier")
        ("custom_type", po::value<std::string>(), "fp8 or int8 for the custom tier")
        ("custom_block_size", po::value<int64_t>(), "custom tier block size")
        ("custom_scaling_mode", po::value<std::string>(), "custom tier scaling mode")
        ("custom_simple", po::bool_switch(), "round to nearest in the custom tier")
        ("custom_heur", po::bool_switch(), "block heuristic in the custom tier")
        ("custom_full_precision_mm", po::bool_switch(), "full_precision_matrix_mult for custom-tier layers (--custom-fpmm)")
        ("custom_convrot", po::bool_switch(), "ConvRot for the custom tier")
        ("custom_convrot_group_size", po::value<int64_t>()->default_value(256), "its group size")
        ("fallback", po::value<std::string>(), "fp8 or int8 for excluded layers instead of keeping them")
        ("fallback_block_size", po::value<int64_t>(), "fallback tier block size")
        ("fallback_simple", po::bool_switch(), "round to nearest in the fallback tier")
        ("input_scale", po::bool_switch(&p.input_scale), "add <layer>.input_scale = 1.0 to FP8 layers")
        ("layer_config", po::value(&p.layer_config), "per-layer JSON config (regex patterns)")
        ("fullmatch", po::bool_switch(&p.layer_config_fullmatch), "layer-config patterns must match the whole name");
}

void add_modes(OptionGroups& g, ConvertOptions& o) {
    g.modes.add_options()
        ("dry_run", po::value(&o.dry_run)->implicit_value("analyze"),
         "analyze: print the per-layer plan and write nothing; create-template: write a layer-config template")
        ("preset", po::value<std::vector<std::string>>()->composing(), "load and activate a preset JSON file (repeatable)");
}

void add_presets(OptionGroups& g, const Registry& registry) {
    for (const auto* p : registry.presets())
        g.filters.add_options()(p->name, po::bool_switch(), p->help ? p->help : "");
}

std::optional<TierFormat> tier_from(const po::variables_map& vm, const std::string& type_key,
                                    const TierFormat& primary) {
    if (!vm.count(type_key)) return std::nullopt;
    TierFormat t = primary;  // custom/fallback converters start from the global settings (7.2)
    t.layout.clear();
    t.family = vm[type_key].as<std::string>();
    t.simple = false;  // the reference's tiers do not inherit --simple
    return t;
}

void fill_tiers(const po::variables_map& vm, ConvertOptions& o) {
    auto& p = o.plan;
    if (vm["int8"].as<bool>()) p.primary.family = "int8";
    if (p.primary.scaling_mode == "block2d" || p.primary.scaling_mode == "block3d") p.primary.scaling_mode = "block";
    if (vm["int8"].as<bool>() && vm["scaling_mode"].defaulted()) p.primary.scaling_mode = "block";
    if (vm["nvfp4"].as<bool>() || vm["mxfp8"].as<bool>())
        throw CtqError("--nvfp4 and --mxfp8 are not implemented in ctq yet; use FP8 or --int8");
    if (auto c = tier_from(vm, "custom_type", p.primary)) {
        if (vm.count("custom_block_size")) c->block_size = vm["custom_block_size"].as<int64_t>();
        if (vm.count("custom_scaling_mode")) c->scaling_mode = vm["custom_scaling_mode"].as<std::string>();
        c->simple = vm["custom_simple"].as<bool>();
        c->heur = vm["custom_heur"].as<bool>();
        c->full_precision_mm = p.primary.full_precision_mm || vm["custom_full_precision_mm"].as<bool>();
        c->convrot = vm["custom_convrot"].as<bool>();
        c->convrot_group_size = vm["custom_convrot_group_size"].as<int64_t>();
        p.custom = c;
    } else if (!p.custom_layers.empty()) {
        throw CtqError("--custom-layers needs --custom-type (fp8 or int8)");
    }
    if (auto f = tier_from(vm, "fallback", p.primary)) {
        if (vm.count("fallback_block_size")) f->block_size = vm["fallback_block_size"].as<int64_t>();
        f->simple = vm["fallback_simple"].as<bool>();
        p.fallback = f;
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CtqError(path + ": cannot read preset file");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::vector<std::string> prescan_plugin_dirs(const std::vector<std::string>& args) {
    std::vector<std::string> dirs;
    const auto norm = normalize_argv(args);
    for (size_t i = 0; i < norm.size(); ++i) {
        if (norm[i] == "--plugin_dir" && i + 1 < norm.size()) dirs.push_back(norm[++i]);
        else if (norm[i].rfind("--plugin_dir=", 0) == 0) dirs.push_back(norm[i].substr(13));
    }
    return dirs;
}

ParsedConvert parse_convert(const std::vector<std::string>& args, Registry& registry) {
    ConvertOptions o;
    o.plan.primary.family = "fp8";
    OptionGroups g;
    add_standard(g, o);
    add_learned(g, o);
    add_advanced(g, o);
    add_experimental(g, o);
    add_modes(g, o);
    // Preset files first, so their flags exist when the rest is parsed.
    const auto norm = normalize_argv(args);
    std::vector<std::string> preset_files;
    for (size_t i = 0; i + 1 < norm.size(); ++i)
        if (norm[i] == "--preset") preset_files.push_back(norm[i + 1]);
    for (const auto& f : preset_files) registry.add_preset_json(read_file(f), f);
    add_presets(g, registry);
    g.modes.add_options()("help_learned", "")("help_advanced", "")("help_experimental", "")
        ("help_filters", "")("help_modes", "");
    g.all.add(g.standard).add(g.learned).add(g.advanced).add(g.experimental).add(g.filters).add(g.modes);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(norm).options(g.all).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw CtqError(std::string(e.what()) + " (see ctq --help)");
    }
    ParsedConvert r;
    auto help = [&](const po::options_description& d, const char* intro) {
        std::ostringstream ss;
        ss << intro << "\n" << d;
        r.message = ss.str();
        return r;
    };
    if (vm.count("help")) return help(g.standard, "usage: ctq -i MODEL.safetensors [options]    (sub-commands: plugins, verify, inspect, demo-model)\nEvery long flag accepts dashes or underscores.\n");
    if (vm.count("help_learned")) return help(g.learned, "");
    if (vm.count("help_advanced")) return help(g.advanced, "");
    if (vm.count("help_experimental")) return help(g.experimental, "");
    if (vm.count("help_filters")) {
        r.message = presets_help(registry);
        return r;
    }
    if (vm.count("help_modes")) return help(g.modes, "");
    if (o.input.empty()) throw CtqError("no input: give -i MODEL.safetensors (see ctq --help)");

    fill_tiers(vm, o);
    if (vm.count("full_error_weight")) o.learned.full_error_weight = vm["full_error_weight"].as<double>();
    o.progress = !vm["no_progress"].as<bool>();
    if (vm["randomized_svd"].as<bool>() && vm["full_matrix"].as<bool>())
        throw CtqError("--randomized_svd and --full_matrix contradict each other");
    o.learned.full_matrix = !vm["randomized_svd"].as<bool>();
    for (const auto* p : registry.presets())
        if (vm.count(p->name) && vm[p->name].as<bool>()) o.plan.presets.push_back(p->name);
    for (const auto& f : preset_files) {
        // The preset a file defines is active by being named on the command line.
        const auto j = nlohmann::json::parse(read_file(f));
        o.plan.presets.push_back(j.at("name").get<std::string>());
    }
    if (!o.bias_correction.empty() && o.bias_correction != "synthetic")
        throw CtqError("--bias_correction takes 'synthetic' (or leave it off)");
    if (!o.dry_run.empty() && o.dry_run != "analyze" && o.dry_run != "create-template")
        throw CtqError("--dry_run takes 'analyze' or 'create-template'");
    r.options = o;
    return r;
}

}  // namespace ctq
