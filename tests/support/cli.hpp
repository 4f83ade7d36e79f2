// Helpers for tests that run the real `ctq` executable, as a user would.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace ctq::test {

struct RunResult {
    int status = -1;       // exit status, or 128 + signal
    std::string output;    // stdout and stderr together
};

inline std::string ctq_exe() { return CTQ_BINARY_DIR "/bin/ctq"; }
inline std::string golden(const std::string& name) { return CTQ_SOURCE_DIR "/../shared/golden/" + name; }

// Runs a shell command line, capturing its output.
inline RunResult run_shell(const std::string& cmd) {
    RunResult r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

inline RunResult run_ctq(const std::string& args) { return run_shell(ctq_exe() + " " + args); }

// A fresh folder, removed with everything in it at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("ctq-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> files() const {
        std::vector<std::string> v;
        for (const auto& e : std::filesystem::directory_iterator(path)) v.push_back(e.path().filename().string());
        return v;
    }
};

}  // namespace ctq::test
