// GPU machine only: `ctq --simple --device cuda` writes the very bytes `--device cpu` writes, in
// every round-to-nearest format, for BF16, F16 and F32 models. Run three ways: every layer on
// the GPU (CTQ_CUDA_START=wait, so the read-ahead staging and the reused output buffers carry
// the whole model), as users run it (the first layers on the CPU while CUDA starts), and with
// the staging copied from the mapping instead of pread (CTQ_STAGING_READ=mmap).
#include "support/cli.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

namespace {

using namespace ctq::test;

struct GpuCounts {
    long on_device = -1, on_cpu = -1;
};

// "GPU: 12 layers on the device, 3 on the CPU while CUDA started ..." from the time summary.
GpuCounts gpu_counts(const std::string& output) {
    std::smatch m;
    GpuCounts c;
    if (std::regex_search(output, m, std::regex(R"(GPU: (\d+) layers on the device, (\d+) on the CPU)"))) {
        c.on_device = std::stol(m[1]);
        c.on_cpu = std::stol(m[2]);
    }
    return c;
}

}  // namespace

TEST_CASE("ctq --device cuda writes the same bytes as --device cpu") {
    TempDir dir;
    for (const std::string dtype : {"BF16", "F16", "F32"}) {
        const std::string model = dir / ("model_" + dtype + ".safetensors");
        // 512-wide with several blocks: tensors of a few MB, enough to spread reads over threads.
        const RunResult made = run_ctq("demo-model " + model +
                                       " --hidden 512 --double_blocks 2 --single_blocks 2 --seed 3 --dtype " + dtype);
        REQUIRE_MESSAGE(made.status == 0, made.output);
        for (const std::string mode : {"", "--scaling_mode row", "--scaling_mode block", "--int8 --scaling_mode row",
                                       "--int8", "--int8 --scaling_mode row --convrot"}) {
            CAPTURE(dtype);
            CAPTURE(mode);
            const std::string common = " -i " + model + " --simple " + mode + " --manual_seed 1 --no_progress";
            const std::string cpu_out = dir / "cpu.safetensors";
            const RunResult cpu = run_ctq(common + " --device cpu -o " + cpu_out);
            REQUIRE_MESSAGE(cpu.status == 0, cpu.output);
            const std::string expected = file_bytes(cpu_out);
            REQUIRE(expected.size() > 1000);

            const std::string gpu_out = dir / "gpu.safetensors";
            const RunResult all_gpu =
                run_shell("CTQ_CUDA_START=wait " + ctq_exe() + common + " --device cuda -o " + gpu_out);
            REQUIRE_MESSAGE(all_gpu.status == 0, all_gpu.output);
            const GpuCounts counts = gpu_counts(all_gpu.output);
            CHECK_MESSAGE(counts.on_device > 0, all_gpu.output);
            CHECK(counts.on_cpu == 0);
            CHECK(file_bytes(gpu_out) == expected);

            const RunResult as_users = run_ctq(common + " --device cuda -o " + gpu_out);
            REQUIRE_MESSAGE(as_users.status == 0, as_users.output);
            CHECK(gpu_counts(as_users.output).on_device >= 1);  // the last GPU layer always waits
            CHECK(file_bytes(gpu_out) == expected);

            const RunResult mapped = run_shell("CTQ_CUDA_START=wait CTQ_STAGING_READ=mmap " + ctq_exe() + common +
                                               " --device cuda -o " + gpu_out);
            REQUIRE_MESSAGE(mapped.status == 0, mapped.output);
            CHECK(file_bytes(gpu_out) == expected);
        }
    }
}
