// The executable under faults a user meets: a signal mid-run, a full disk, an input that is not a
// readable model, a plugin that throws, a NaN in a weight, a mistyped option, an output that is
// the input. Each must end with a non-zero status, a message naming the file (and tensor), no
// output and no temporary left behind, and the input byte-identical.
#include "support/cli.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <limits>

using namespace ctq::test;
namespace fs = std::filesystem;

namespace {

// One demo model for the whole binary: big enough that learned rounding runs for many seconds.
const std::string& learned_model() {
    static TempDir dir;
    static const std::string path = [] {
        const std::string p = dir / "model.safetensors";
        const RunResult r = run_ctq("demo-model " + p + " --hidden 512 --double_blocks 1 --single_blocks 1");
        if (r.status != 0) throw std::runtime_error("demo-model failed: " + r.output);
        return p;
    }();
    return path;
}

// A small model for the quick failures, written into `dir`.
std::string small_model(const TempDir& dir) {
    const std::string p = dir / "model.safetensors";
    const RunResult r = run_ctq("demo-model " + p + " --hidden 64 --double_blocks 1 --single_blocks 0");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    return p;
}

// The folder holds exactly `expected` (no output, no temporary).
void check_only(const TempDir& dir, std::vector<std::string> expected) {
    std::vector<std::string> found = dir.files();
    std::sort(found.begin(), found.end());
    std::sort(expected.begin(), expected.end());
    CHECK(found == expected);
    CHECK(temporaries_in(dir.path).empty());
}

// The line of ctq's output that carries its error.
std::string error_line(const std::string& output) {
    const size_t at = output.find("ctq: error: ");
    return at == std::string::npos ? "" : output.substr(at, output.find('\n', at) - at);
}

int count_of(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

std::string bf16_bytes(const std::vector<float>& values) {
    std::string out;
    for (float v : values) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        const uint16_t top = static_cast<uint16_t>(bits >> 16);  // exact for the values used here
        out.push_back(static_cast<char>(top & 0xff));
        out.push_back(static_cast<char>(top >> 8));
    }
    return out;
}

std::string f32_bytes(const std::vector<float>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4);
}

}  // namespace

TEST_CASE("a signal during learned rounding removes the temporary output and kills ctq by that signal") {
    const std::string& model = learned_model();
    const std::string before = file_bytes(model);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
        CAPTURE(sig);
        TempDir out_dir, log_dir;
        ChildCtq child({"-i", model, "-o", out_dir / "out.safetensors", "--no_progress"}, log_dir / "log");
        REQUIRE_MESSAGE(wait_until([&] { return !temporaries_in(out_dir.path).empty() || !child.running(); }, 60),
                        "no temporary output appeared");
        REQUIRE_MESSAGE(!temporaries_in(out_dir.path).empty(), "ctq ended before the signal: " << file_bytes(log_dir / "log"));
        // Let it get into the learned rounding of the first layers before interrupting.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        REQUIRE(child.pid > 0);  // never kill(-1, ...)
        REQUIRE(::kill(child.pid, sig) == 0);
        const RunResult r = child.wait();
        INFO(r.output);
        CHECK(r.status == 128 + sig);
        check_only(out_dir, {});
        CHECK(file_bytes(model) == before);
    }
}

TEST_CASE("an input truncated while ctq reads it (SIGBUS) leaves no temporary and says why") {
    TempDir dir, log_dir;
    const std::string model = dir / "model.safetensors";
    fs::copy_file(learned_model(), model);
    ChildCtq child({"-i", model, "-o", dir / "out.safetensors", "--no_progress"}, log_dir / "log");
    REQUIRE(wait_until([&] { return !temporaries_in(dir.path).empty() || !child.running(); }, 60));
    REQUIRE_MESSAGE(!temporaries_in(dir.path).empty(), file_bytes(log_dir / "log"));
    fs::resize_file(model, 4096);  // the header stays; the mapped tensors vanish under the reader
    const RunResult r = child.wait();
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("changed size or became unreadable") != std::string::npos);
    CHECK(r.output.find("SIGBUS") != std::string::npos);
    check_only(dir, {"model.safetensors"});
}

TEST_CASE("a file-size limit (full disk) fails with EFBIG naming output and tensor, and cleans up") {
    TempDir dir;
    const std::string model = small_model(dir);
    // --hidden 256 writes ~4 MB of output; 200 KiB is reached inside the first large tensor.
    REQUIRE(run_ctq("demo-model " + model + " --hidden 256 --double_blocks 1 --single_blocks 0").status == 0);
    const std::string before = file_bytes(model);
    const std::string out = dir / "out.safetensors";
    const RunResult r =
        run_shell("bash -c 'ulimit -f 200; exec " + ctq_exe() + " -i " + model + " -o " + out + " --simple --no_progress'");
    INFO(r.output);
    CHECK(r.status != 0);
    const std::string error = error_line(r.output);
    CHECK(error.find(out + ": tensor '") != std::string::npos);
    CHECK(error.find("File too large") != std::string::npos);
    check_only(dir, {"model.safetensors"});
    CHECK(file_bytes(model) == before);
}

TEST_CASE("inputs that are not readable models are refused with the file's name") {
    TempDir dir;
    const std::string out = dir / "out.safetensors";
    struct Case {
        std::string what;
        std::string input;
        const char* problem;
    };
    const std::string folder = dir / "folder.safetensors";
    fs::create_directory(folder);
    const std::string fifo = dir / "fifo.safetensors";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    // A real model cut 1000 bytes after its header: the header claims data the file lacks.
    TempDir src;
    const std::string whole = file_bytes(small_model(src));
    uint64_t header_len = 0;
    std::memcpy(&header_len, whole.data(), 8);
    const std::string truncated = dir / "truncated.safetensors";
    write_bytes(truncated, whole.substr(0, 8 + header_len + 1000));
    const std::vector<Case> cases = {
        {"a directory", folder, "not a regular file"},
        {"a missing file", dir / "missing.safetensors", "cannot open: No such file or directory"},
        {"a FIFO (must not block waiting for a writer)", fifo, "not a regular file"},
        {"a file truncated after its header", truncated, "tensor 'img_in.weight': data_offsets end 8192 is past the data section of 1000 bytes"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const std::string before = fs::is_regular_file(c.input) ? file_bytes(c.input) : "";
        const RunResult r = run_shell("timeout 20 " + ctq_exe() + " -i " + c.input + " -o " + out + " --simple --no_progress");
        INFO(r.output);
        CHECK(r.status == 1);  // not 124: timeout's status when ctq hung
        CHECK(error_line(r.output).find(c.input + ": " + c.problem) != std::string::npos);
        CHECK(!fs::exists(out));
        CHECK(temporaries_in(dir.path).empty());
        if (fs::is_regular_file(c.input)) CHECK(file_bytes(c.input) == before);
    }
}

TEST_CASE("a plugin layout that throws inside its own code fails the run cleanly") {
    TempDir dir;
    const std::string model = small_model(dir);
    const std::string before = file_bytes(model);
    const std::string plugin_dir = CTQ_BINARY_DIR "/faulty_plugins/ctq_throwing_layout";
    REQUIRE(fs::exists(plugin_dir + "/ctq_throwing_layout.so"));
    const RunResult r = run_ctq("--plugin_dir " + plugin_dir + " -i " + model + " --simple --format test_throwing -o " +
                                (dir / "out.safetensors") + " --no_progress");
    INFO(r.output);
    CHECK(r.status == 1);
    const std::string error = error_line(r.output);
    CHECK(error.find("deliberate exception inside the plugin") != std::string::npos);
    CHECK(error.find(model + ": tensor '") != std::string::npos);
    check_only(dir, {"model.safetensors"});
    CHECK(file_bytes(model) == before);
}

TEST_CASE("a plugin for another ABI version is reported with both versions and does not stop a conversion") {
    const std::string plugin_dir = CTQ_BINARY_DIR "/faulty_plugins/ctq_bad_abi";
    REQUIRE(fs::exists(plugin_dir + "/ctq_bad_abi.so"));
    const RunResult listing = run_ctq("plugins --plugin_dir " + plugin_dir);
    INFO(listing.output);
    CHECK(listing.status == 2);
    CHECK(listing.output.find("ctq_bad_abi.so") != std::string::npos);
    const RunResult version = run_ctq("--version");
    const size_t at = version.output.find("plugin ABI ");
    REQUIRE(at != std::string::npos);
    const unsigned ours = std::stoul(version.output.substr(at + 11));
    CHECK(listing.output.find("ABI version " + std::to_string(ours + 41)) != std::string::npos);
    CHECK(listing.output.find("version " + std::to_string(ours)) != std::string::npos);

    TempDir dir;
    const std::string model = small_model(dir);
    const RunResult r = run_ctq("--plugin_dir " + plugin_dir + " -i " + model + " --simple -o " + (dir / "out.safetensors") +
                                " --no_progress");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("warning: plugin") != std::string::npos);
    CHECK(r.output.find("ctq_bad_abi.so") != std::string::npos);
    CHECK(fs::file_size(dir / "out.safetensors") > 0);
}

TEST_CASE("a NaN or Inf in a weight is refused naming file, tensor and [row, col]") {
    struct Case {
        std::string what;
        float bad;
        std::string dtype;
    };
    const float inf = std::numeric_limits<float>::infinity();
    for (const Case& c : {Case{"NaN BF16", std::numeric_limits<float>::quiet_NaN(), "BF16"}, Case{"+Inf BF16", inf, "BF16"},
                          Case{"-Inf BF16", -inf, "BF16"}, Case{"NaN F32", std::numeric_limits<float>::quiet_NaN(), "F32"}}) {
        CAPTURE(c.what);
        TempDir dir;
        std::vector<float> w(32 * 64, 0.5f);
        w[3 * 64 + 5] = c.bad;
        w[20 * 64 + 1] = c.bad;  // only the first one is named, with the count
        const std::string model = dir / "bad.safetensors";
        SafetensorsFile()
            .add("blk.weight", c.dtype, {32, 64}, c.dtype == "F32" ? f32_bytes(w) : bf16_bytes(w))
            .write(model);
        const std::string before = file_bytes(model);
        for (const std::string mode : {"--simple", "--num_iter 2"}) {
            CAPTURE(mode);
            const RunResult r = run_ctq("-i " + model + " -o " + (dir / "out.safetensors") + " --no_progress " + mode);
            INFO(r.output);
            CHECK(r.status == 1);
            CHECK(r.output.find(model + ": tensor 'blk.weight': 2 non-finite value(s)") != std::string::npos);
            CHECK(r.output.find("first at [3, 5]") != std::string::npos);
            CHECK(count_of(error_line(r.output), model) == 1);  // named once, not once per layer of error handling
            check_only(dir, {"bad.safetensors"});
            CHECK(file_bytes(model) == before);
        }
    }
}

TEST_CASE("an unknown format or option is refused before anything is written") {
    TempDir dir;
    const std::string model = small_model(dir);
    const std::string before = file_bytes(model);
    const std::string out = dir / "out.safetensors";
    const RunResult format = run_ctq("-i " + model + " -o " + out + " --simple --format nope");
    INFO(format.output);
    CHECK(format.status == 1);
    CHECK(error_line(format.output).find("unknown format 'nope'") != std::string::npos);
    CHECK(format.output.find("float8_e4m3fn") != std::string::npos);  // lists what is known
    const RunResult flag = run_ctq("-i " + model + " -o " + out + " --no_such_preset");
    INFO(flag.output);
    CHECK(flag.status != 0);
    CHECK(error_line(flag.output).find("unrecognised option '--no_such_preset'") != std::string::npos);
    check_only(dir, {"model.safetensors"});
    CHECK(file_bytes(model) == before);
}

TEST_CASE("a report that cannot be written fails the run, naming it, and leaves no temporary") {
    TempDir dir;
    const std::string model = small_model(dir);
    const std::string report = dir / "report.json";
    fs::create_directory(report);  // a folder where the report file should go
    const RunResult r = run_ctq("-i " + model + " -o " + (dir / "out.safetensors") + " --simple --no_progress --report " + report);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(error_line(r.output).find(report + ": cannot write: Is a directory") != std::string::npos);
    CHECK(temporaries_in(dir.path).empty());
    CHECK(fs::is_empty(report));
}

TEST_CASE("an output path that is a device, FIFO or folder is refused up front and left as it was") {
    TempDir dir;
    const std::string model = small_model(dir);
    const std::string device = dir / "null", fifo = dir / "fifo", folder = dir / "folder";
    REQUIRE(::mknod(device.c_str(), S_IFCHR | 0644, ::makedev(1, 3)) == 0);  // a private /dev/null
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    fs::create_directory(folder);
    for (const std::string& out : {device, fifo, folder}) {
        CAPTURE(out);
        const RunResult r = run_shell("timeout 20 " + ctq_exe() + " -i " + model + " -o " + out + " --simple --no_progress");
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(error_line(r.output).find(out + ": exists and is not a regular file") != std::string::npos);
        CHECK(r.output.find("Processing:") == std::string::npos);  // refused before any work
        check_only(dir, {"model.safetensors", "null", "fifo", "folder"});
    }
    CHECK(fs::is_character_file(device));
    CHECK(fs::is_fifo(fifo));
    CHECK(fs::is_empty(folder));
}

TEST_CASE("an output that is the input itself (same path, hard link, symlink) is refused, input untouched") {
    TempDir dir;
    const std::string model = small_model(dir);
    const std::string before = file_bytes(model);
    fs::create_hard_link(model, dir / "hard.safetensors");
    fs::create_symlink(model, dir / "soft.safetensors");
    for (const std::string& out : {model, dir / "hard.safetensors", dir / "soft.safetensors"}) {
        CAPTURE(out);
        const RunResult r = run_ctq("-i " + model + " -o " + out + " --simple --no_progress");
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(error_line(r.output).find(out + ": output is the same file as input") != std::string::npos);
        check_only(dir, {"model.safetensors", "hard.safetensors", "soft.safetensors"});
        CHECK(file_bytes(model) == before);
    }
}
