#include "core/error.hpp"
#include "io/safetensors_reader.hpp"
#include "support/safetensors_builder.hpp"

#include <ctq/dtype.hpp>
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <sys/stat.h>

using namespace ctq;
using namespace ctq::test;

namespace {

std::string refusal(const std::filesystem::path& path) {
    try {
        SafetensorsReader r(path);
    } catch (const CtqError& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("every malformed file is refused with its own message naming file and tensor") {
    TempDir dir;
    for (const MalformedCase& c : malformed_cases()) {
        CAPTURE(c.name);
        const auto path = write_file(dir / (std::string(c.name) + ".safetensors"), c.bytes);
        const std::string msg = refusal(path);
        CAPTURE(msg);
        CHECK(msg.find(c.expected) != std::string::npos);
        CHECK(msg.rfind(path.string() + ": ", 0) == 0);
        if (*c.tensor) CHECK(msg.find("tensor '" + std::string(c.tensor) + "'") != std::string::npos);
    }
}

TEST_CASE("at least a dozen distinct malformations, each with its own message") {
    std::set<std::string> messages;
    for (const MalformedCase& c : malformed_cases()) messages.insert(c.expected);
    CHECK(messages.size() >= 12);
}

TEST_CASE("missing file, directory and FIFO are refused") {
    TempDir dir;
    CHECK(refusal(dir / "absent.safetensors").find("cannot open") != std::string::npos);
    CHECK(refusal(dir.path()).find("not a regular file") != std::string::npos);
    // A FIFO with no writer must be refused, not block the reader forever.
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    CHECK(refusal(dir / "fifo").find("not a regular file") != std::string::npos);
}

TEST_CASE("a valid file: padding spaces, metadata, sub-byte and zero-sized tensors, offset order") {
    TempDir dir;
    std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("z_first", "U8", "[2,2]", 0, 4) + "," +
                         entry("a_second", "F4", "[4]", 4, 6) + "," + entry("empty", "F32", "[0,3]", 6, 6) + "," +
                         entry("m_last", "F6_E2M3", "[4]", 6, 9) + "}";
    header.append(7, ' ');
    const std::string data = "\x01\x02\x03\x04\x05\x06\x07\x08\x09";
    const auto path = write_file(dir / "ok.safetensors", safetensors_bytes(header, data));
    SafetensorsReader r(path);
    CHECK(r.file_size() == 8 + header.size() + data.size());
    CHECK(r.header_size() == header.size());
    CHECK(r.metadata().at("format") == "pt");
    REQUIRE(r.tensors().size() == 4);
    CHECK(r.tensors()[0].name == "z_first");
    CHECK(r.tensors()[1].name == "a_second");
    CHECK(r.tensors()[3].name == "m_last");
    const TensorInfo* m = r.find("m_last");
    REQUIRE(m != nullptr);
    CHECK(m->dtype == CTQ_DTYPE_F6_E2M3);
    CHECK(m->nbytes() == 3);
    CHECK(std::memcmp(r.data(*m), "\x07\x08\x09", 3) == 0);
    CHECK(r.find("nope") == nullptr);
    CHECK(r.find("empty")->numel() == 0);
    r.release(*r.find("z_first"));  // pages come back from the file when touched again
    CHECK(std::memcmp(r.data(*r.find("z_first")), "\x01\x02\x03\x04", 4) == 0);
}

TEST_CASE("an empty header object with no data is a valid file") {
    TempDir dir;
    const auto path = write_file(dir / "empty.safetensors", safetensors_bytes("{}      "));
    SafetensorsReader r(path);
    CHECK(r.tensors().empty());
    CHECK(r.metadata().empty());
}

TEST_CASE("many tiny tensors parse (linear work)") {
    TempDir dir;
    std::string header = "{";
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        if (i) header += ",";
        header += entry("t" + std::to_string(i), "U8", "[1]", static_cast<uint64_t>(i), static_cast<uint64_t>(i) + 1);
    }
    header += "}";
    const auto path = write_file(dir / "many.safetensors", safetensors_bytes(header, std::string(n, 'x')));
    SafetensorsReader r(path);
    CHECK(r.tensors().size() == static_cast<size_t>(n));
    CHECK(r.tensors()[n - 1].name == "t" + std::to_string(n - 1));
}

TEST_CASE("golden tiny_flux: dtypes, shapes, metadata") {
    SafetensorsReader r("../shared/golden/tiny_flux.safetensors");
    REQUIRE(r.metadata().count("modelspec.title") == 1);
    CHECK(r.metadata().at("modelspec.title") == "tiny flux-like test model");
    const TensorInfo* linear1 = r.find("single_blocks.0.linear1.weight");
    REQUIRE(linear1 != nullptr);
    CHECK(linear1->dtype == CTQ_DTYPE_F16);
    const TensorInfo* linear2 = r.find("single_blocks.0.linear2.weight");
    REQUIRE(linear2 != nullptr);
    CHECK(linear2->dtype == CTQ_DTYPE_F32);
    const TensorInfo* txt_in = r.find("txt_in.weight");
    REQUIRE(txt_in != nullptr);
    CHECK(txt_in->dtype == CTQ_DTYPE_BF16);
    CHECK(txt_in->shape == std::vector<int64_t>{256, 200});
    const TensorInfo* odd = r.find("single_blocks.0.odd.weight");
    REQUIRE(odd != nullptr);
    CHECK(odd->shape == std::vector<int64_t>{130, 200});
    const TensorInfo* conv = r.find("vae_like.conv.weight");
    REQUIRE(conv != nullptr);
    CHECK(conv->shape.size() == 4);
    for (size_t i = 1; i < r.tensors().size(); ++i) CHECK(r.tensors()[i - 1].end == r.tensors()[i].begin);
}

TEST_CASE("golden reference outputs all open") {
    for (const char* name : {"tiny_t5", "ref_fp8_tensor", "ref_fp8_row", "ref_fp8_block64", "ref_int8_row",
                             "ref_int8_block64", "ref_fp8_flux2", "ref_fp8_distill", "ref_fp8_t5xxl"}) {
        CAPTURE(name);
        SafetensorsReader r(std::string("../shared/golden/") + name + ".safetensors");
        CHECK(!r.tensors().empty());
    }
    SafetensorsReader fp8("../shared/golden/ref_fp8_tensor.safetensors");
    bool any_fp8 = false;
    for (const TensorInfo& t : fp8.tensors()) any_fp8 |= t.dtype == CTQ_DTYPE_F8_E4M3;
    CHECK(any_fp8);
}
