#include "cli/app.hpp"

#ifdef CTQ_KINETO_PROFILE
#include <torch/csrc/autograd/profiler_kineto.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

// CTQ_KINETO=PATH: the whole run under LibTorch's kineto profiler, CUDA activity only (kernels,
// copies, on every stream and thread), saved as a Chrome trace; bench/kineto_summary.py reads it.
int main(int argc, char** argv) {
    const char* path = std::getenv("CTQ_KINETO");
    if (!path) return ctq::run_app(argc, argv);
    using namespace torch::autograd::profiler;
    using torch::profiler::impl::ActivityType;
    const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
    const std::set<ActivityType> activities{ActivityType::CUDA};
    prepareProfiler(config, activities);
    enableProfiler(config, activities);
    const int rc = ctq::run_app(argc, argv);
    try {
        disableProfiler()->save(path);
    } catch (const std::exception& e) {  // e.g. a LibTorch built without kineto (Debian's)
        std::fprintf(stderr, "ctq: CTQ_KINETO: no trace written to %s: %s\n", path, e.what());
        return rc == 0 ? 1 : rc;
    }
    return rc;
}
#else
int main(int argc, char** argv) { return ctq::leave(ctq::run_app(argc, argv)); }
#endif
