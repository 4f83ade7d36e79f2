// Everything `ctq convert` (the default command) accepts, with the reference tool's flag names
// and defaults (REFERENCE_SPEC section 2), plus ctq's own additions.
#pragma once

#include "plan/plan_options.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ctq {

class Registry;

struct LearnedCli {
    std::string optimizer = "search";  // ctq's discrete search, or original/adamw/radam/prodigy
    int64_t num_iter = 4000;
    double lr = 1.0;
    std::string lr_schedule = "plateau";
    double top_p = 0.2;
    int64_t min_k = 256;
    int64_t max_k = 1280;
    bool full_matrix = true;  // exact top-k subspace unless --randomized_svd
    std::optional<double> full_error_weight;  // the subspace/full-error trade-off knob
    double max_full_ratio = 1.005;            // never keep a result whose full error exceeds this x RTN's
    bool subspace_bound = false;              // also certify the best subspace error any rounding can reach
    double lr_gamma = 0.99;
    int64_t lr_patience = 1;
    double lr_factor = 0.95;
    double lr_min = 1e-8;
    int64_t lr_cooldown = 0;
    double lr_threshold = 0.0;
    std::string lr_threshold_mode = "rel";
    std::string lr_adaptive_mode = "simple-reset";
    double lr_shape_influence = 1.0;
    double early_stop_loss = 5e-9;
    double early_stop_lr = 1.01e-8;
    int64_t early_stop_stall = 2000;
    bool use_speed = false;
};

struct ConvertOptions {
    std::string input;
    std::string output;  // empty: the reference's automatic name
    PlanOptions plan;
    LearnedCli learned;
    bool save_quant_metadata = false;
    std::string device = "cpu";
    std::string verbose = "NORMAL";
    int64_t manual_seed = -1;
    std::string report;           // --report FILE.json
    std::string dry_run;          // "", "analyze" or "create-template"
    std::string bias_correction;  // "" (off) or "synthetic"
    int64_t calib_samples = 3072;
    int threads = 0;              // 0: all cores
    bool progress = true;         // --no-progress turns the bar off
};

// Either options to run with, or text to print (help) and an exit status.
struct ParsedConvert {
    std::optional<ConvertOptions> options;
    std::string message;
    int status = 0;
};

// args excludes the program name. The registry supplies layouts and the preset flags.
ParsedConvert parse_convert(const std::vector<std::string>& args, Registry& registry);

// --plugin-dir values, read before the registry (and so the preset flags) exists.
std::vector<std::string> prescan_plugin_dirs(const std::vector<std::string>& args);

}  // namespace ctq
