// Error statistics of one quantized layer against its original weight, shared by the
// conversion report and `ctq verify` so both print the same numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctq {

struct LayerStats {
    std::string name;
    std::string format;
    std::vector<int64_t> shape;
    double scale_min = 0, scale_max = 0, scale_mean = 0;
    double rel_error = 0;  // ||W - Wq||_F / ||W||_F
    double snr_db = 0;     // 20 log10(||W|| / ||W - Wq||); +inf when exact
    std::optional<double> subspace_rel_error;  // ||U_k^T (Wq - W) V_k|| / ||U_k^T W V_k||
    std::optional<double> rtn_subspace_ratio, rtn_full_ratio;  // learned vs round-to-nearest
    std::optional<double> rtn_subspace_bound;  // certified floor of rtn_subspace_ratio (--subspace_bound)
    std::optional<int64_t> iterations;         // learned: search rounds or relaxation iterations
    std::optional<double> output_rel_error;  // verify --linear: weight-only path on random x
    std::optional<double> int8_gemm_rel_error;  // verify --linear: int8_blockwise W8A8 block GEMM
    std::string method;    // "nearest" or the learned method
    double seconds = 0;
};

// w and wq are F32 [rows, cols]; scales: the stored scale tensor's values.
LayerStats measure_layer(const std::string& name, const std::string& format, int64_t rows, int64_t cols,
                         const float* w, const float* wq, const std::vector<float>& scales);

nlohmann::json to_json(const LayerStats& s);
// A fixed-width table, one row per layer, plus an overall line.
std::string format_stats_table(const std::vector<LayerStats>& stats);

}  // namespace ctq
