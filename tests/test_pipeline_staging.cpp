// The host side of the GPU path, testable without a GPU: the staging ring reads every tensor's
// exact bytes ahead of use (in order, with tensors skipped, unexpected, or the file cut short),
// and the async writer hands written buffers back for reuse.
#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"
#include "pipeline/async_writer.hpp"
#include "pipeline/staging_ring.hpp"
#include "support/safetensors_builder.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

using namespace ctq;
using namespace ctq::test;

namespace {

// U8 tensors of sizes around and across the ring's 2 MiB read pieces, filled with noise.
std::filesystem::path noisy_model(const TempDir& dir, const std::vector<uint64_t>& sizes) {
    std::string header = "{", data;
    std::mt19937 rng(7);
    for (size_t i = 0; i < sizes.size(); ++i) {
        const uint64_t begin = data.size();
        for (uint64_t b = 0; b < sizes[i]; ++b) data.push_back(static_cast<char>(rng()));
        header += (i ? "," : "") + entry("t" + std::to_string(i), "U8", "[" + std::to_string(sizes[i]) + "]",
                                         begin, data.size());
    }
    header += "}";
    return write_file(dir / "model.safetensors", safetensors_bytes(header, data));
}

struct CountingAlloc {
    int allocations = 0, frees = 0;
    StagingRing::Alloc alloc() {
        return [this](size_t n) { ++allocations; return std::malloc(n ? n : 1); };
    }
    StagingRing::Free free() {
        return [this](void* p) { ++frees; std::free(p); };
    }
};

bool same_bytes(const SafetensorsReader& r, const TensorInfo& t, const uint8_t* staged) {
    return std::memcmp(r.data(t), staged, t.nbytes()) == 0;
}

std::vector<const TensorInfo*> all_of(const SafetensorsReader& r) {
    std::vector<const TensorInfo*> v;
    for (const TensorInfo& t : r.tensors()) v.push_back(&t);
    return v;
}

}  // namespace

TEST_CASE("staging ring: every tensor's bytes, read ahead in the expected order, slots sized once") {
    TempDir dir;
    const SafetensorsReader r(noisy_model(dir, {(5u << 20) + 3, 1, (3u << 20) + 7, 9u << 20, 4096}));
    CountingAlloc counter;
    {
        StagingRing ring(r, counter.alloc(), counter.free());
        ring.expect(all_of(r));
        for (const TensorInfo& t : r.tensors()) CHECK(same_bytes(r, t, ring.take(t)));
        CHECK(ring.tensors_read_ahead() == r.tensors().size() - 1);  // all but the first
    }
    CHECK(counter.allocations == 2);
    CHECK(counter.frees == 2);
}

TEST_CASE("staging ring: skipped, unexpected and unplanned tensors still come back exact") {
    TempDir dir;
    const SafetensorsReader r(noisy_model(dir, {3u << 20, 5u << 20, 1u << 20, (2u << 20) + 1}));
    const auto& t = r.tensors();
    CountingAlloc counter;
    StagingRing ring(r, counter.alloc(), counter.free());
    SUBCASE("a tensor of the order never taken") {
        ring.expect(all_of(r));
        CHECK(same_bytes(r, t[0], ring.take(t[0])));
        CHECK(same_bytes(r, t[2], ring.take(t[2])));  // t[1] was read ahead in vain
        CHECK(same_bytes(r, t[3], ring.take(t[3])));
    }
    SUBCASE("taken out of order") {
        ring.expect(all_of(r));
        CHECK(same_bytes(r, t[1], ring.take(t[1])));
        CHECK(same_bytes(r, t[0], ring.take(t[0])));
        CHECK(same_bytes(r, t[3], ring.take(t[3])));
    }
    SUBCASE("no order given") {
        for (int i = 3; i >= 0; --i) CHECK(same_bytes(r, t[i], ring.take(t[i])));
        CHECK(ring.tensors_read_ahead() == 0);
    }
}

TEST_CASE("staging ring: a file cut short after opening is an error naming file and tensor") {
    TempDir dir;
    const auto path = noisy_model(dir, {1u << 20, 3u << 20});
    const SafetensorsReader r(path);
    const auto& t = r.tensors();
    CountingAlloc counter;
    StagingRing ring(r, counter.alloc(), counter.free());
    ring.expect({&t[0]});  // nothing read ahead: the cut must be seen by the read itself
    CHECK(same_bytes(r, t[0], ring.take(t[0])));
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - (1u << 20));
    std::string message;
    try {
        ring.take(t[1]);
    } catch (const CtqError& e) {
        message = e.what();
    }
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("t1") != std::string::npos);
    CHECK(message.find("ended early") != std::string::npos);
}

TEST_CASE("async writer: written buffers come back through reuse() once kept, and the file is exact") {
    TempDir dir;
    const SafetensorsReader r(noisy_model(dir, {16}));
    const auto out = dir / "out.safetensors";
    SafetensorsWriter w(out, {{"a", CTQ_DTYPE_U8, {1 << 20}}, {"b", CTQ_DTYPE_U8, {1 << 20}}}, {}, {});
    AsyncWriter queue(w, r, 4u << 20);
    queue.keep_written();
    std::vector<uint8_t> a(1u << 20, 0x11);
    const uint8_t* a_memory = a.data();
    queue.push("a", std::move(a));
    queue.drain();
    std::vector<uint8_t> b = queue.reuse(1u << 20);
    CHECK(b.data() == a_memory);  // the same memory, no fresh allocation
    std::fill(b.begin(), b.end(), uint8_t(0x22));
    queue.push("b", std::move(b));
    queue.drain();
    w.commit();
    const std::string bytes = read_file(out);
    REQUIRE(bytes.size() > (2u << 20));
    CHECK(bytes.substr(bytes.size() - (2u << 20)) == std::string(1u << 20, '\x11') + std::string(1u << 20, '\x22'));
}
