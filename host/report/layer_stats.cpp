#include "report/layer_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ctq {

LayerStats measure_layer(const std::string& name, const std::string& format, int64_t rows, int64_t cols,
                         const float* w, const float* wq, const std::vector<float>& scales) {
    LayerStats s;
    s.name = name;
    s.format = format;
    s.shape = {rows, cols};
    double ref = 0, err = 0;  // double accumulators: layers have up to ~1e8 elements
    const int64_t n = rows * cols;
    for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(wq[i]) - w[i];
        ref += static_cast<double>(w[i]) * w[i];
        err += d * d;
    }
    s.rel_error = ref > 0 ? std::sqrt(err / ref) : (err > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    s.snr_db = err > 0 ? 10.0 * std::log10(ref / err) : std::numeric_limits<double>::infinity();
    if (!scales.empty()) {
        const auto [mn, mx] = std::minmax_element(scales.begin(), scales.end());
        s.scale_min = *mn;
        s.scale_max = *mx;
        double sum = 0;
        for (float v : scales) sum += v;
        s.scale_mean = sum / scales.size();
    }
    return s;
}

nlohmann::json to_json(const LayerStats& s) {
    auto finite_or_null = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json j = {{"name", s.name},          {"format", s.format},
                        {"shape", s.shape},        {"method", s.method},
                        {"scale_min", s.scale_min}, {"scale_max", s.scale_max},
                        {"scale_mean", s.scale_mean}, {"rel_error", finite_or_null(s.rel_error)},
                        {"snr_db", finite_or_null(s.snr_db)}, {"seconds", s.seconds}};
    if (s.subspace_rel_error) j["subspace_rel_error"] = *s.subspace_rel_error;
    if (s.output_rel_error) j["output_rel_error"] = *s.output_rel_error;
    if (s.int8_gemm_rel_error) j["int8_gemm_rel_error"] = *s.int8_gemm_rel_error;
    if (s.rtn_subspace_ratio) j["subspace_vs_nearest"] = *s.rtn_subspace_ratio;
    if (s.rtn_full_ratio) j["full_vs_nearest"] = *s.rtn_full_ratio;
    if (s.rtn_subspace_bound) j["subspace_bound_vs_nearest"] = *s.rtn_subspace_bound;
    if (s.iterations) j["iterations"] = *s.iterations;
    return j;
}

std::string format_stats_table(const std::vector<LayerStats>& stats) {
    std::string out;
    char line[512];
    const bool subspace = std::any_of(stats.begin(), stats.end(), [](const auto& s) { return s.subspace_rel_error.has_value(); });
    const bool linear = std::any_of(stats.begin(), stats.end(), [](const auto& s) { return s.output_rel_error.has_value(); });
    const bool gemm = std::any_of(stats.begin(), stats.end(), [](const auto& s) { return s.int8_gemm_rel_error.has_value(); });
    std::snprintf(line, sizeof line, "%-48s %-26s %-13s %10s %8s%s%s%s\n", "layer", "format", "shape", "rel_err",
                  "SNR dB", subspace ? "  subspace" : "", linear ? "    output" : "", gemm ? "  int8gemm" : "");
    out += line;
    double ref_sum = 0, err_sum = 0;
    for (const auto& s : stats) {
        char shape[32];
        std::snprintf(shape, sizeof shape, "%lldx%lld", (long long)s.shape[0], (long long)s.shape.at(1));
        char sub[96] = "";
        int used = 0;
        if (s.subspace_rel_error) used += std::snprintf(sub + used, sizeof sub - used, "  %8.5f", *s.subspace_rel_error);
        if (s.output_rel_error) used += std::snprintf(sub + used, sizeof sub - used, "  %8.5f", *s.output_rel_error);
        if (s.int8_gemm_rel_error) std::snprintf(sub + used, sizeof sub - used, "  %8.5f", *s.int8_gemm_rel_error);
        std::snprintf(line, sizeof line, "%-48s %-26s %-13s %10.6f %8.2f%s\n", s.name.c_str(), s.format.c_str(),
                      shape, s.rel_error, s.snr_db, sub);
        out += line;
        if (std::isfinite(s.snr_db)) {
            ref_sum += 1.0;
            err_sum += s.snr_db;
        }
    }
    std::snprintf(line, sizeof line, "%zu layers, mean SNR %.2f dB\n", stats.size(), ref_sum > 0 ? err_sum / ref_sum : 0.0);
    out += line;
    return out;
}

}  // namespace ctq
