#include "cli/argv_normalize.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/human_bytes.hpp"
#include "report/progress.hpp"
#include "tools/demo_model.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>

namespace po = boost::program_options;

namespace ctq {

int cmd_demo_model(const std::vector<std::string>& args, Registry&) {
    DemoModelOptions o;
    std::string out;
    po::options_description d("usage: ctq demo-model OUT.safetensors [options]\n"
                              "Writes a synthetic Flux-like model (hidden 3072 with 2 double blocks and no single "
                              "blocks is the 690M-parameter benchmark model)");
    d.add_options()("help,h", "this help")("output,o", po::value(&out)->required(), "file to write")
        ("hidden", po::value(&o.hidden)->default_value(256), "hidden size")
        ("double_blocks", po::value(&o.double_blocks)->default_value(1), "number of double blocks")
        ("single_blocks", po::value(&o.single_blocks)->default_value(1), "number of single blocks")
        ("rank", po::value(&o.rank)->default_value(32), "rank of each weight's structured part")
        ("dtype", po::value(&o.dtype)->default_value("BF16"), "BF16, F16 or F32")
        ("seed", po::value(&o.seed)->default_value(0), "seed");
    po::positional_options_description pos;
    pos.add("output", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(normalize_argv(args)).options(d).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::cout << d;
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw CtqError(std::string("demo-model: ") + e.what());
    }
    const auto s = write_demo_model(out, o);
    std::printf("Wrote %s: %zu tensors, %.1fM parameters, %s\n", out.c_str(), s.tensors, s.parameters / 1e6,
                human_bytes(static_cast<double>(s.bytes)).c_str());
    return 0;
}

}  // namespace ctq
