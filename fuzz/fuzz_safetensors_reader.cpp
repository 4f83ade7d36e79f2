// Raw bytes as a whole .safetensors file: the reader must either refuse them with CtqError or
// accept them, and then every tensor it reports must lie inside the file.
#include "core/error.hpp"
#include "io/safetensors_reader.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace {

// One memory file for the whole run, rewritten for each input: no disk traffic.
int memory_file() {
    static const int fd = [] {
        const int f = ::memfd_create("ctq-fuzz-reader", MFD_CLOEXEC);
        if (f < 0) std::abort();
        return f;
    }();
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const int fd = memory_file();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        ctq::SafetensorsReader r(path);
        uint64_t covered = 0;
        uint8_t sum = 0;
        for (const ctq::TensorInfo& t : r.tensors()) {
            if (t.begin != covered || t.end < t.begin) std::abort();
            covered = t.end;
            const uint8_t* p = r.data(t);
            for (uint64_t i = 0; i < t.nbytes(); ++i) sum ^= p[i];  // faults if outside the mapping
            if (r.find(t.name) != &t) std::abort();
            r.release(t);
        }
        if (8 + r.header_size() + covered != r.file_size() || r.file_size() != size) std::abort();
        asm volatile("" : : "r"(sum));
    } catch (const ctq::CtqError&) {
    }
    return 0;
}
