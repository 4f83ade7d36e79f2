#include "cli/app.hpp"

#include "cli/commands.hpp"
#include "cli/convert_options.hpp"
#include "core/error.hpp"
#include "io/safetensors_writer.hpp"
#include "pipeline/convert.hpp"
#include "pipeline/cuda_startup.hpp"
#include "pipeline/engine_loader.hpp"
#include "pipeline/layer_worker.hpp"  // parse_device
#include "plugins/registry.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

namespace ctq {

namespace {

// On SIGINT/SIGTERM the temporary output must go too; only async-signal-safe calls here.
extern "C" void on_terminate_signal(int sig) {
    remove_live_temporaries();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// A mapped input that shrinks or vanishes under us turns reads into SIGBUS. Nothing can be
// recovered, but the temporary output must not stay behind and the user must learn why.
extern "C" void on_bus_error(int) {
    remove_live_temporaries();
    static const char msg[] =
        "\nctq: error: the input file changed size or became unreadable while it was being read "
        "(SIGBUS); no output was written\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(1);
}

void install_signal_handlers() {
    std::signal(SIGBUS, on_bus_error);
    std::signal(SIGINT, on_terminate_signal);
    std::signal(SIGTERM, on_terminate_signal);
    std::signal(SIGHUP, on_terminate_signal);
    // A file-size limit (ulimit -f) must surface as EFBIG from write(), not kill the process
    // before the writer can clean up.
    std::signal(SIGXFSZ, SIG_IGN);
}

using Command = int (*)(const std::vector<std::string>&, Registry&);

const std::map<std::string, Command>& commands() {
    static const std::map<std::string, Command> table = {
        {"plugins", &cmd_plugins},   {"verify", &cmd_verify},      {"inspect", &cmd_inspect},
        {"demo-model", &cmd_demo_model}, {"convert", &cmd_convert},
    };
    return table;
}

}  // namespace

int cmd_convert(const std::vector<std::string>& args, Registry& registry) {
    ParsedConvert parsed = parse_convert(args, registry);
    if (!parsed.options) {
        std::fputs(parsed.message.c_str(), stdout);
        return parsed.status;
    }
    // The CUDA context is created in the background while the input is opened and planned.
    if (parsed.options->dry_run.empty() && parsed.options->device.rfind("cuda", 0) == 0) {
        try {
            start_cuda(parse_device(parsed.options->device));
        } catch (const CtqError&) {  // a malformed --device is reported by the conversion itself
        }
    }
    // So is LibTorch loaded, unless every layer rounds to nearest.
    if (parsed.options->dry_run.empty() && !parsed.options->plan.primary.simple) start_engine_load();
    struct FinishCudaStart {
        ~FinishCudaStart() {
            finish_engine_load();
            finish_cuda_start();
        }
    } finish_on_any_exit;
    return run_convert(*parsed.options, registry);
}

// Everything a successful run owes the user is done when run_app returns: the output renamed into
// place after its fsync, the report written. What the destructors left would do after a CUDA run
// is tear down LibTorch's and the CUDA runtime's state (handles, streams, the cached device
// blocks, the context), which the kernel reclaims with the process anyway; measured on an H200 in
// bench/RESULTS.md. Leak checkers want the full exit: CTQ_CLEAN_EXIT=1 (and the CPU never skips it).
int leave(int status) {
    const char* clean = std::getenv("CTQ_CLEAN_EXIT");
    if (status != 0 || !cuda_started() || (clean && std::strcmp(clean, "0") != 0)) return status;
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(status);
}

int run_app(int argc, char** argv) {
    install_signal_handlers();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
        std::printf("ctq %s (plugin ABI %u)\n", CTQ_VERSION, CTQ_ABI_VERSION);
        return 0;
    }
    Command command = &cmd_convert;
    if (!args.empty()) {
        if (const auto it = commands().find(args[0]); it != commands().end()) {
            command = it->second;
            args.erase(args.begin());
        }
    }
    try {
        Registry registry;
        std::vector<std::filesystem::path> extra;
        for (const auto& d : prescan_plugin_dirs(args)) extra.emplace_back(d);
        registry.load_dirs(Registry::default_dirs(extra));
        for (const auto& f : registry.failures())
            if (command != &cmd_plugins)
                std::fprintf(stderr, "warning: plugin %s not loaded: %s\n", f.file.string().c_str(), f.reason.c_str());
        return command(args, registry);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "\nctq: error: %s\n", e.what());
        return 1;
    }
}

}  // namespace ctq
