// Helpers for tests that run the real `ctq` executable, as a user would.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
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

// Every byte of a file, to prove an input was left untouched.
inline std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A ctq started in the background (fork/exec, output to a log file) so that a test can act on
// it while it runs: send a signal, truncate its input, read its peak memory.
struct ChildCtq {
    pid_t pid = -1;
    std::string log_path;

    ChildCtq(const std::vector<std::string>& args, std::string log) : log_path(std::move(log)) {
        std::vector<std::string> argv_s{ctq_exe()};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid = fork();
        if (pid == 0) {
            const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
            }
            execv(argv[0], argv.data());
            _exit(127);
        }
    }
    ~ChildCtq() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    ChildCtq(const ChildCtq&) = delete;
    ChildCtq& operator=(const ChildCtq&) = delete;

    // False once it has ended (then reaped here: wait() reports what this saw).
    bool running() { return pid > 0 && reap(WNOHANG) == 0; }

    // Waits for the exit; `status` as RunResult counts it, the log as its output.
    RunResult wait(long* peak_rss_kib = nullptr) {
        if (pid > 0) reap(0);
        if (peak_rss_kib) *peak_rss_kib = usage_.ru_maxrss;
        return {status_, file_bytes(log_path)};
    }

private:
    int status_ = -1;
    rusage usage_{};

    pid_t reap(int flags) {
        int st = 0;
        const pid_t got = ::wait4(pid, &st, flags, &usage_);
        if (got == pid) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            pid = -1;
        }
        return got;
    }
};

// Polls until `found()` holds or `seconds` pass; true when it held.
template <typename Pred>
bool wait_until(Pred found, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (found()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return found();
}

// Names in `dir` that look like temporaries: the writer's (.<name>.ctq-tmp-<pid>-<rand>) and
// the reports' and templates' (<name>.ctq-tmp).
inline std::vector<std::string> temporaries_in(const std::filesystem::path& dir) {
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.find(".ctq-tmp") != std::string::npos) v.push_back(name);
    }
    return v;
}

// Builds a .safetensors file tensor by tensor (no validation: the tool's reader is under test).
struct SafetensorsFile {
    struct Tensor {
        std::string name, dtype;
        std::vector<int64_t> shape;
        std::string bytes;
    };
    std::vector<Tensor> tensors;

    SafetensorsFile& add(std::string name, std::string dtype, std::vector<int64_t> shape, std::string bytes) {
        tensors.push_back({std::move(name), std::move(dtype), std::move(shape), std::move(bytes)});
        return *this;
    }
    std::string bytes() const {
        std::string header = "{", data;
        for (const auto& t : tensors) {
            std::string shape;
            for (int64_t d : t.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
            if (header.size() > 1) header += ",";
            header += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + shape +
                      "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
                      std::to_string(data.size() + t.bytes.size()) + "]}";
            data += t.bytes;
        }
        header += "}";
        header.append((8 - header.size() % 8) % 8, ' ');
        std::string len(8, '\0');
        for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
        return len + header + data;
    }
    void write(const std::string& path) const { write_bytes(path, bytes()); }
};

}  // namespace ctq::test
