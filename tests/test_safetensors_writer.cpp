#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"
#include "support/safetensors_builder.hpp"

#include <ctq/dtype.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <functional>
#include <cstring>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ctq;
using namespace ctq::test;

namespace {

// Deterministic, distinct bytes for each tensor.
std::string pattern(uint64_t n, uint32_t seed) {
    std::string s(n, '\0');
    for (uint64_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u + seed * 40503u) >> 7);
    return s;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const CtqError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("round trip of every dtype: bytes identical, metadata kept, header aligned") {
    TempDir dir;
    std::vector<OutputTensor> plan;
    std::vector<std::string> payload;
    for (const DtypeTraits& d : kDtypeTable) {
        // Sub-byte types need whole bytes: 4 elements of F6 (24 bits), 6 of F4 (24 bits).
        const int64_t n = d.bits == 6 ? 8 : d.bits == 4 ? 6 : 5;
        plan.push_back({std::string("t.") + d.name, d.dtype, {n, 1}});
        payload.push_back(pattern(*byte_size(d.dtype, static_cast<uint64_t>(n)), static_cast<uint32_t>(d.dtype)));
    }
    plan.push_back({"scalar", CTQ_DTYPE_F32, {}});
    payload.push_back(pattern(4, 99));
    plan.push_back({"empty", CTQ_DTYPE_BF16, {0, 7}});
    payload.push_back("");
    const std::map<std::string, std::string> meta{{"modelspec.title", "t\u00e9st \"q\""}, {"k", ""}};
    const auto out = dir / "out.safetensors";
    {
        SafetensorsWriter w(out, plan, meta, {});
        for (size_t i = 0; i < plan.size(); ++i) {
            // Several calls fill one tensor.
            const std::string& p = payload[i];
            w.write(plan[i].name, p.data(), p.size() / 2);
            w.write(plan[i].name, p.data() + p.size() / 2, p.size() - p.size() / 2);
        }
        w.commit();
    }
    SafetensorsReader r(out);
    CHECK(r.metadata() == meta);
    CHECK((8 + r.header_size()) % 8 == 0);
    REQUIRE(r.tensors().size() == plan.size());
    for (size_t i = 0; i < plan.size(); ++i) {
        CAPTURE(plan[i].name);
        const TensorInfo& t = r.tensors()[i];  // offset order is plan order
        CHECK(t.name == plan[i].name);
        CHECK(t.dtype == plan[i].dtype);
        CHECK(t.shape == plan[i].shape);
        CHECK(std::string(reinterpret_cast<const char*>(r.data(t)), t.nbytes()) == payload[i]);
    }
    CHECK(dir.entries() == std::vector<std::string>{"out.safetensors"});
}

TEST_CASE("golden file copied through reader and writer is byte identical") {
    SafetensorsReader in("../shared/golden/tiny_flux.safetensors");
    TempDir dir;
    std::vector<OutputTensor> plan;
    for (const TensorInfo& t : in.tensors()) plan.push_back({t.name, t.dtype, t.shape});
    SafetensorsWriter w(dir / "copy.safetensors", plan, in.metadata(), {in.path()});
    for (const TensorInfo& t : in.tensors()) w.write(t.name, in.data(t), t.nbytes());
    w.commit();
    SafetensorsReader copy(dir / "copy.safetensors");
    REQUIRE(copy.tensors().size() == in.tensors().size());
    for (size_t i = 0; i < in.tensors().size(); ++i) {
        const TensorInfo& a = in.tensors()[i];
        const TensorInfo& b = copy.tensors()[i];
        CHECK(a.name == b.name);
        CHECK(a.shape == b.shape);
        CHECK(std::memcmp(in.data(a), copy.data(b), a.nbytes()) == 0);
    }
    CHECK(copy.metadata() == in.metadata());
}

TEST_CASE("output that is an input is refused and the input is untouched") {
    TempDir dir;
    const auto in = write_file(dir / "model.safetensors", safetensors_bytes("{" + entry("w", "U8", "[4]", 0, 4) + "}", "abcd"));
    const std::string before = read_file(in);
    const std::vector<OutputTensor> plan{{"w", CTQ_DTYPE_U8, {4}}};
    std::string msg = error_of([&] { SafetensorsWriter w(in, plan, {}, {in}); });
    CHECK(msg.find("output is the same file as input") != std::string::npos);
    // Same file under another spelling, and through a hard link.
    msg = error_of([&] { SafetensorsWriter w(dir / "." / "model.safetensors", plan, {}, {in}); });
    CHECK(msg.find("same file") != std::string::npos);
    REQUIRE(::link(in.c_str(), (dir / "alias.safetensors").c_str()) == 0);
    msg = error_of([&] { SafetensorsWriter w(dir / "alias.safetensors", plan, {}, {in}); });
    CHECK(msg.find("same file") != std::string::npos);
    CHECK(read_file(in) == before);
    CHECK(dir.entries().size() == 2);
}

TEST_CASE("destroyed without commit: no temporary file, no output") {
    TempDir dir;
    {
        SafetensorsWriter w(dir / "out.safetensors", {{"w", CTQ_DTYPE_F32, {2}}}, {}, {});
        CHECK(std::filesystem::exists(w.temp_path()));
        CHECK(w.temp_path().parent_path() == std::filesystem::absolute(dir.path()));
        CHECK(w.temp_path().filename().string().rfind(".out.safetensors.ctq-tmp-", 0) == 0);
        w.write("w", "1234", 4);
    }
    CHECK(dir.entries().empty());
}

TEST_CASE("remove_live_temporaries unlinks the temporary of a live writer") {
    TempDir dir;
    SafetensorsWriter w(dir / "out.safetensors", {{"w", CTQ_DTYPE_U8, {1}}}, {}, {});
    REQUIRE(dir.entries().size() == 1);
    remove_live_temporaries();
    CHECK(dir.entries().empty());
}

TEST_CASE("a SIGTERM handler calling remove_live_temporaries leaves no file") {
    TempDir dir;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGTERM, [](int) {
            remove_live_temporaries();
            ::_exit(0);
        });
        SafetensorsWriter w(dir / "a.safetensors", {{"w", CTQ_DTYPE_U8, {8}}}, {}, {});
        SafetensorsWriter v(dir / "b.safetensors", {{"w", CTQ_DTYPE_U8, {8}}}, {}, {});
        w.write("w", "1234", 4);
        std::raise(SIGTERM);
        ::_exit(4);  // not reached: the handler exits
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(dir.entries().empty());
}

TEST_CASE("no write or commit after commit") {
    TempDir dir;
    SafetensorsWriter w(dir / "out.safetensors", {{"w", CTQ_DTYPE_U8, {1}}}, {}, {});
    w.write("w", "x", 1);
    w.commit();
    CHECK(error_of([&] { w.write("w", "x", 1); }).find("write after commit") != std::string::npos);
    CHECK(error_of([&] { w.commit(); }).find("commit after commit") != std::string::npos);
    CHECK(dir.entries() == std::vector<std::string>{"out.safetensors"});
}

TEST_CASE("write order, sizes and completeness are enforced") {
    TempDir dir;
    const auto out = dir / "out.safetensors";
    const std::vector<OutputTensor> plan{{"a", CTQ_DTYPE_U8, {2}}, {"z", CTQ_DTYPE_U8, {0}}, {"b", CTQ_DTYPE_U8, {2}}};
    SUBCASE("out of order") {
        SafetensorsWriter w(out, plan, {}, {});
        const std::string msg = error_of([&] { w.write("b", "xx", 2); });
        CHECK(msg.find("tensor 'b': written out of order: expected 'a' first") != std::string::npos);
        CHECK(msg.rfind(out.string(), 0) == 0);
    }
    SUBCASE("too many bytes") {
        SafetensorsWriter w(out, plan, {}, {});
        CHECK(error_of([&] { w.write("a", "xyz", 3); }).find("more bytes than planned (2)") != std::string::npos);
    }
    SUBCASE("going back to a finished tensor") {
        SafetensorsWriter w(out, plan, {}, {});
        w.write("a", "xy", 2);
        w.write("b", "xy", 2);  // the zero-sized "z" needs no call
        CHECK(error_of([&] { w.write("a", "x", 1); }).find("not planned, or written after its turn") !=
              std::string::npos);
    }
    SUBCASE("commit with a missing tensor") {
        SafetensorsWriter w(out, plan, {}, {});
        w.write("a", "xy", 2);
        const std::string msg = error_of([&] { w.commit(); });
        CHECK(msg.find("tensor 'b': incomplete: 0 of 2 bytes written") != std::string::npos);
    }
    SUBCASE("commit with a partial tensor") {
        SafetensorsWriter w(out, plan, {}, {});
        w.write("a", "x", 1);
        CHECK(error_of([&] { w.commit(); }).find("tensor 'a': incomplete: 1 of 2") != std::string::npos);
    }
    SUBCASE("bad plans") {
        CHECK(error_of([&] { SafetensorsWriter w(out, {{"a", CTQ_DTYPE_U8, {1}}, {"a", CTQ_DTYPE_U8, {1}}}, {}, {}); })
                  .find("tensor 'a': tensor planned twice") != std::string::npos);
        CHECK(error_of([&] { SafetensorsWriter w(out, {{"f", CTQ_DTYPE_F4, {3}}}, {}, {}); })
                  .find("not a whole number of bytes of F4") != std::string::npos);
        CHECK(error_of([&] { SafetensorsWriter w(out, {{"n", CTQ_DTYPE_U8, {-1}}}, {}, {}); })
                  .find("negative dimension") != std::string::npos);
        CHECK(error_of([&] { SafetensorsWriter w(out, {{"__metadata__", CTQ_DTYPE_U8, {1}}}, {}, {}); })
                  .find("invalid tensor name") != std::string::npos);
        CHECK(error_of([&] { SafetensorsWriter w(out, {}, {{"k", "\xff"}}, {}); }).find("must be UTF-8") !=
              std::string::npos);
        CHECK(error_of([&] { SafetensorsWriter w(dir / "no" / "such" / "dir.st", plan, {}, {}); })
                  .find("cannot create temporary file") != std::string::npos);
    }
    CHECK(dir.entries().empty());
}

namespace {

// Runs `write` in a child under a 64 KiB file-size limit (SIGXFSZ ignored, so write(2) fails with
// EFBIG) and checks that it failed with that error naming `out` and tensor 'huge', leaving no file.
void check_full_disk(const TempDir& dir, const std::filesystem::path& out, const char* direct_io,
                     const std::function<void()>& write) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        ::setenv("CTQ_DIRECT_IO", direct_io, 1);
        const rlimit lim{65536, 65536};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        int code = 1;
        try {
            write();
            code = 2;  // the write should have failed
        } catch (const CtqError& e) {
            const std::string msg = e.what();
            code = msg.find(out.string() + ": tensor 'huge': write failed: File too large") == 0 ? 0 : 3;
        }
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(dir.entries().empty());
}

}  // namespace

TEST_CASE("a full disk (RLIMIT_FSIZE, EFBIG) gives a clear error and leaves no file") {
    TempDir dir;
    const auto out = dir / "big.safetensors";
    check_full_disk(dir, out, "0", [&] {
        SafetensorsWriter w(out, {{"huge", CTQ_DTYPE_F32, {1 << 16}}}, {}, {});
        const std::string chunk(1 << 18, 'x');
        w.write("huge", chunk.data(), chunk.size());
    });
}

namespace {

// Whether files in `dir` can be opened with O_DIRECT at all (tmpfs refuses it).
bool accepts_direct_io(const std::filesystem::path& dir) {
#ifdef O_DIRECT
    const auto probe = dir / "probe";
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    std::filesystem::remove(probe);
    return fd >= 0;
#else
    (void)dir;
    return false;
#endif
}

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes three tensors across two 8 MiB stages plus an unaligned tail, in odd-sized pieces.
void write_stage_crossing_file(const std::filesystem::path& out, bool* direct) {
    const std::vector<uint64_t> sizes = {(9ull << 20) + 13, 5, (8ull << 20) - 7};
    std::vector<OutputTensor> plan;
    for (size_t i = 0; i < sizes.size(); ++i) plan.push_back({"t" + std::to_string(i), CTQ_DTYPE_U8, {int64_t(sizes[i])}});
    SafetensorsWriter w(out, plan, {{"k", "v"}}, {});
    *direct = w.direct_io();
    for (size_t i = 0; i < sizes.size(); ++i) {
        const std::string bytes = pattern(sizes[i], uint32_t(i + 1));
        for (uint64_t at = 0; at < bytes.size(); at += 777777)
            w.write(plan[i].name, bytes.data() + at, std::min<uint64_t>(777777, bytes.size() - at));
    }
    w.commit();
}

struct DirectIoEnv {
    explicit DirectIoEnv(const char* v) { ::setenv("CTQ_DIRECT_IO", v, 1); }
    ~DirectIoEnv() { ::unsetenv("CTQ_DIRECT_IO"); }
};

}  // namespace

TEST_CASE("O_DIRECT output (CTQ_DIRECT_IO=1) has the same bytes as the buffered path") {
    TempDir dir;
    bool direct = false, buffered_direct = true;
    {
        DirectIoEnv env("0");
        write_stage_crossing_file(dir / "buffered.safetensors", &buffered_direct);
    }
    {
        DirectIoEnv env("1");
        write_stage_crossing_file(dir / "direct.safetensors", &direct);
    }
    CHECK_FALSE(buffered_direct);
    if (accepts_direct_io(dir.path())) CHECK(direct);
    const std::string a = file_bytes(dir / "buffered.safetensors"), b = file_bytes(dir / "direct.safetensors");
    CHECK(a.size() > (17ull << 20));
    CHECK(a == b);
    SafetensorsReader r(dir / "direct.safetensors");
    REQUIRE(r.tensors().size() == 3);
    const auto& t0 = r.tensors()[0];
    CHECK(std::memcmp(r.data(t0), pattern(t0.nbytes(), 1).data(), t0.nbytes()) == 0);
}

TEST_CASE("a full disk under O_DIRECT still fails with EFBIG naming the output, and leaves no file") {
    TempDir dir;
    const auto out = dir / "big.safetensors";
    check_full_disk(dir, out, "1", [&] {
        // Past one 8 MiB stage, so both the O_DIRECT stretch and the buffered tail are tried.
        SafetensorsWriter w(out, {{"huge", CTQ_DTYPE_U8, {9 << 20}}}, {}, {});
        const std::string chunk(9 << 20, 'x');
        w.write("huge", chunk.data(), chunk.size());
        w.commit();
    });
}
