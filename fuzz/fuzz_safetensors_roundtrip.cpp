// A random valid plan (every dtype, sub-byte shapes made whole, odd names and metadata), written
// in random-sized pieces by SafetensorsWriter and read back by SafetensorsReader: everything must
// come back identical, and nothing but the output may be left in the directory.
#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"

#include <ctq/dtype.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const fs::path& work_dir() {
    static const fs::path dir = [] {
        const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        fs::path d = base / ("ctq-fuzz-roundtrip-" + std::to_string(::getpid()));
        fs::create_directories(d);
        std::atexit([] { fs::remove_all(work_dir()); });
        return d;
    }();
    return dir;
}

// Text from the fuzzer mapped onto valid UTF-8: ASCII (controls only when allowed) and a few
// multi-byte characters, so names and metadata stress escaping but never the encoder's refusal.
std::string utf8_text(FuzzedDataProvider& in, size_t max_len, bool allow_controls) {
    static const char* const kWide[] = {"\u00e9", "\u65e5", "\u2028", "\U0001F600", "\"", "\\", "/"};
    std::string s;
    const size_t len = in.ConsumeIntegralInRange<size_t>(0, max_len);
    for (size_t i = 0; i < len; ++i) {
        const uint8_t b = in.ConsumeIntegral<uint8_t>();
        if (b >= 0x80) s += kWide[b % 7];
        else if (b >= 0x20 && b != 0x7f) s += static_cast<char>(b);
        else if (allow_controls) s += static_cast<char>(b);
    }
    return s;
}

[[noreturn]] void mismatch(const char* what) {
    std::fprintf(stderr, "round trip mismatch: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::map<std::string, std::string> metadata;
    for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n)
        metadata[utf8_text(in, 12, true)] = utf8_text(in, 24, true);

    std::vector<ctq::OutputTensor> plan;
    std::vector<std::string> bytes;
    for (int n = in.ConsumeIntegralInRange(0, 12); n > 0; --n) {
        ctq::OutputTensor t;
        const char digits[] = {static_cast<char>('a' + plan.size() / 10), static_cast<char>('a' + plan.size() % 10), 0};
        t.name = digits + utf8_text(in, 16, false);  // a fixed-width prefix keeps names unique
        t.dtype = static_cast<ctq_dtype>(in.ConsumeIntegralInRange<int>(0, CTQ_DTYPE_COUNT - 1));
        for (int rank = in.ConsumeIntegralInRange(0, 4); rank > 0; --rank)
            t.shape.push_back(in.ConsumeIntegralInRange<int64_t>(0, 9));
        const int bits = ctq::dtype_traits(t.dtype).bits;
        if (bits == 4) t.shape.push_back(2);  // 4- and 6-bit types pack whole bytes in 2 or 4 elements
        if (bits == 6) t.shape.push_back(4);
        uint64_t numel = 1;
        for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
        std::string b = in.ConsumeBytesAsString(*ctq::byte_size(t.dtype, numel));
        b.resize(*ctq::byte_size(t.dtype, numel), '\x5a');
        plan.push_back(std::move(t));
        bytes.push_back(std::move(b));
    }

    const fs::path out = work_dir() / "out.safetensors";
    {
        ctq::SafetensorsWriter w(out, plan, metadata, {});
        for (size_t i = 0; i < plan.size(); ++i) {
            size_t done = 0;
            while (done < bytes[i].size()) {
                const size_t left = bytes[i].size() - done;  // once the input runs dry: all at once
                const size_t piece = in.remaining_bytes() ? in.ConsumeIntegralInRange<size_t>(1, left) : left;
                w.write(plan[i].name, bytes[i].data() + done, piece);
                done += piece;
            }
        }
        w.commit();
    }

    ctq::SafetensorsReader r(out);
    if (r.metadata() != metadata) mismatch("metadata");
    if (r.tensors().size() != plan.size()) mismatch("tensor count");
    if ((8 + r.header_size()) % 8 != 0) mismatch("header padding");
    // Offsets follow plan order; tensors() ties (zero-sized neighbours) are ordered by name.
    uint64_t offset = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        const ctq::TensorInfo* t = r.find(plan[i].name);
        if (!t) mismatch("tensor missing");
        if (t->dtype != plan[i].dtype || t->shape != plan[i].shape) mismatch("tensor info");
        if (t->begin != offset) mismatch("tensor offset out of plan order");
        offset = t->end;
        if (t->nbytes() != bytes[i].size() || std::memcmp(r.data(*t), bytes[i].data(), t->nbytes()) != 0)
            mismatch("tensor bytes");
    }
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(work_dir())) ++entries;
    if (entries != 1) mismatch("stray files beside the output");
    fs::remove(out);
    return 0;
}
