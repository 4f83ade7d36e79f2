#include "cli/argv_normalize.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "report/verify.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace po = boost::program_options;

namespace ctq {

int cmd_verify(const std::vector<std::string>& args, Registry& registry) {
    VerifyOptions o;
    std::string report;
    po::options_description d("usage: ctq verify --orig ORIGINAL.safetensors --quant QUANTIZED.safetensors");
    d.add_options()("help,h", "this help")
        ("orig", po::value(&o.original)->required(), "the original (high-precision) model")
        ("quant", po::value(&o.quantized)->required(), "the quantized model (ctq's, the reference's, any comfy_quant file)")
        ("report", po::value(&report), "also write the table as JSON")
        ("no_subspace", po::bool_switch(), "skip the principal-subspace error (it needs an SVD per layer)")
        ("top_p", po::value(&o.top_p)->default_value(0.2), "subspace rank rule, as for learned rounding")
        ("min_k", po::value(&o.min_k)->default_value(256), "")
        ("max_k", po::value(&o.max_k)->default_value(1280), "")
        ("full_matrix", po::bool_switch(&o.exact_subspace),
         "subspace from the exact SVD (slower; the randomized one can flatter a rounding tuned to the same seed)")
        ("device", po::value(&o.device)->default_value("cpu"),
         "where the subspace SVDs run: cpu, cuda or cuda:N (on CUDA via the Gram matrix, same spans, far faster on large layers)")
        ("manual_seed", po::value(&o.seed)->default_value(0), "seed of the randomized SVD and the random inputs")
        ("linear", po::value(&o.linear_tokens)->implicit_value(64)->default_value(0),
         "also the output error of each layer on N random N(0,1) input rows (default 64): the weight-only "
         "path, and for int8_blockwise the W8A8 block GEMM");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(normalize_argv(args)).options(d).run(), vm);
        if (vm.count("help")) {
            std::cout << d;
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw CtqError(std::string("verify: ") + e.what());
    }
    o.subspace = !vm["no_subspace"].as<bool>();
    const VerifyResult r = verify_files(o, registry);
    std::fputs(format_stats_table(r.layers).c_str(), stdout);
    for (const auto& p : r.problems) std::printf("not checked: %s\n", p.c_str());
    if (!report.empty()) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& s : r.layers) j.push_back(to_json(s));
        std::ofstream(report) << nlohmann::json{{"original", o.original}, {"quantized", o.quantized}, {"layers", j}}.dump(2)
                              << "\n";
    }
    if (r.layers.empty()) {
        std::fprintf(stderr, "ctq verify: no quantized layer could be checked\n");
        return 1;
    }
    return r.problems.empty() ? 0 : 2;
}

}  // namespace ctq
