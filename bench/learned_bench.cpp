// learned_bench: RTN vs learned rounding on make_fixture.py's structured weights, for every
// FP8 and INT8 layout the plugins provide (and the test-only per-row INT8 grid).
//
//   learned_bench [--shapes 3072x3072,256x1024] [--layouts fp8:tensor,int8:row,test:row]
//                 [--method search] [--weight 4] [--min-k 256] [--top-p 0.2] [--iters 4000]
//                 [--threads 2] [--device cpu] [--seed 0] [--block 64] [--plugins DIR] [--bound]
//                 [--count-ops]
//
// Prints per layer: k, subspace ratio (learned / RTN), full ratio, changed elements, rounds,
// seconds. Plugins load from DIR (default: build's bin/plugins). --bound adds the column
// `bound`: the certified floor of sub_ratio for any rounding within the cap (its time is
// included in seconds). --count-ops adds, per layer, the LibTorch ops the engine dispatched
// (outermost calls only, as counted by a RecordFunction observer) per search round, and the most
// frequent ones: on the GPU each is a host-side dispatch, allocation and launch.
#include "engine/learned_rounding.hpp"

#include "../tests/engine_fixtures.hpp"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, sep);)
        if (!item.empty()) out.push_back(item);
    return out;
}

std::map<std::string, std::string> parse(int argc, char** argv) {
    std::map<std::string, std::string> a = {
        {"shapes", "256x256,512x1536"}, {"layouts", "fp8:tensor,fp8:row,fp8:block,int8:tensor,int8:row,int8:block"},
        {"method", "search"}, {"weight", ""}, {"min-k", "256"}, {"top-p", "0.2"}, {"iters", "4000"},
        {"threads", "2"}, {"device", "cpu"}, {"seed", "0"}, {"block", "64"}, {"max-full", ""},
        {"plugins", std::string(CTQ_BINARY_DIR) + "/bin/plugins"}};
    for (int i = 1; i < argc; i += 2) {
        const std::string key = std::string(argv[i]).substr(2);
        if (key == "bound" || key == "count-ops") {  // a flag: no value follows
            a[key] = "1";
            --i;
        } else if (i + 1 < argc) {
            a[key] = argv[i + 1];
        }
    }
    return a;
}

// Outermost LibTorch calls per op name (nested calls, e.g. matmul's mm, are not counted again).
struct OpCounter {
    static std::map<std::string, int64_t>& counts() {
        static std::map<std::string, int64_t> c;
        return c;
    }
    static int& depth() {
        thread_local int d = 0;
        return d;
    }
    static void install() {
        at::addGlobalCallback(at::RecordFunctionCallback(
                                  [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
                                      if (depth()++ == 0) ++counts()[fn.name()];
                                      return nullptr;
                                  },
                                  [](const at::RecordFunction&, at::ObserverContext*) { --depth(); })
                                  .scopes({at::RecordScope::FUNCTION}));
    }
    // Total since the last call, and the most frequent names with their share.
    static std::string take(int64_t rounds) {
        std::vector<std::pair<int64_t, std::string>> by_count;
        int64_t total = 0;
        for (const auto& [name, n] : counts()) {
            by_count.emplace_back(n, name);
            total += n;
        }
        counts().clear();
        std::sort(by_count.rbegin(), by_count.rend());
        std::string out = "  ops " + std::to_string(total) + ", per round " +
                          std::to_string(rounds > 0 ? total / rounds : total) + ":";
        for (size_t i = 0; i < by_count.size() && i < 12; ++i)
            out += " " + by_count[i].second + " " + std::to_string(by_count[i].first);
        return out;
    }
};

ctq_scaling_mode mode_of(const std::string& m) {
    return m == "tensor" ? CTQ_SCALING_TENSOR : m == "row" ? CTQ_SCALING_ROW : CTQ_SCALING_BLOCK;
}

}  // namespace

int main(int argc, char** argv) {
    auto a = parse(argc, argv);
    torch::set_num_threads(std::stoi(a["threads"]));
    ctq::Registry registry;
    registry.load_dir(a["plugins"]);
    static ctq::test::UniformRowInt8 test_layout;

    ctq::LearnedOptions opt;
    opt.method = a["method"];
    if (!a["weight"].empty()) opt.full_error_weight = std::stod(a["weight"]);
    if (!a["max-full"].empty()) opt.max_full_ratio = std::stod(a["max-full"]);
    opt.min_k = std::stoll(a["min-k"]);
    opt.top_p = std::stod(a["top-p"]);
    opt.num_iter = std::stoll(a["iters"]);
    opt.device = a["device"];
    opt.seed = std::stoull(a["seed"]);
    opt.subspace_bound = a.count("bound") > 0;
    const char* bound_head = opt.subspace_bound ? "    bound" : "";
    const bool count_ops = a.count("count-ops") > 0;
    if (count_ops) OpCounter::install();

    std::printf("%-28s %-11s %5s %9s%s %9s %9s %7s %8s\n", "layout", "shape", "k", "sub_ratio", bound_head,
                "full_ratio", "changed%", "rounds", "seconds");
    for (const auto& shape : split(a["shapes"], ',')) {
        const auto dims = split(shape, 'x');
        const int64_t rows = std::stoll(dims[0]), cols = std::stoll(dims[1]);
        const auto w = ctq::test::structured_weight(rows, cols, opt.seed + 1);
        for (const auto& spec : split(a["layouts"], ',')) {
            const auto fm = split(spec, ':');
            const ctq_layout_desc* desc = fm[0] == "test" ? test_layout.descriptor()
                                                          : registry.layout_for(fm[0], fm[1]);
            if (!desc) {
                std::printf("%-28s (no plugin layout)\n", spec.c_str());
                continue;
            }
            ctq_layout_params params{};
            params.struct_size = sizeof params;
            params.scaling_mode = mode_of(fm[1]);
            params.block_size = std::stoll(a["block"]);
            ctq::LayoutOps ops(*desc, params, "bench");
            auto q = ops.allocate(rows, cols);
            ops.quantize(w.data(), q);
            if (count_ops) OpCounter::take(0);  // only the engine's own ops below
            const auto t0 = std::chrono::steady_clock::now();
            auto trace = [&](int64_t it, double loss) {
                const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                std::fprintf(stderr, "  iter %lld loss %.5f t %.2f\n", static_cast<long long>(it), loss, t);
            };
            const bool verbose = std::getenv("CTQ_BENCH_TRACE") != nullptr;
            const auto s = ctq::learn_rounding(ops, w.data(), q, opt, registry,
                                               verbose ? std::function<void(int64_t, double)>(trace) : nullptr);
            char bound[32] = "";
            if (opt.subspace_bound) std::snprintf(bound, sizeof bound, " %8.4f", s.subspace_bound);
            std::printf("%-28s %-11s %5lld %9.4f%s %9.5f %9.3f %7lld %8.2f%s\n", desc->name,
                        shape.c_str(), static_cast<long long>(s.k), s.subspace / s.rtn_subspace, bound,
                        s.full / s.rtn_full, 100.0 * s.changed / (rows * cols),
                        static_cast<long long>(s.iterations), s.seconds, s.kept_rtn ? "  (kept RTN)" : "");
            if (count_ops) std::printf("%s\n", OpCounter::take(s.iterations).c_str());
            std::fflush(stdout);
        }
    }
    return 0;
}
