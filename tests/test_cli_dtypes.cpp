// Every safetensors dtype through the real executable: what ctq cannot or must not quantize
// (integers, booleans, complex, already-quantized FP8/FP6/FP4, every 1-D tensor) comes out
// byte for byte as it went in; the float 2-D weights (F16, BF16, F32, F64) are quantized.
#include "io/safetensors_reader.hpp"
#include "support/cli.hpp"

#include <ctq/dtype.hpp>
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <sstream>

using namespace ctq;
using namespace ctq::test;

namespace {

struct DtypeCase {
    const char* name;
    int bits;  // per element
};

const DtypeCase kDtypes[] = {
    {"BOOL", 8},        {"U8", 8},           {"I8", 8},           {"I16", 16},          {"U16", 16},
    {"F16", 16},        {"BF16", 16},        {"I32", 32},         {"U32", 32},          {"F32", 32},
    {"F64", 64},        {"I64", 64},         {"U64", 64},         {"C64", 64},          {"F8_E4M3", 8},
    {"F8_E5M2", 8},     {"F8_E8M0", 8},      {"F8_E4M3FNUZ", 8},  {"F8_E5M2FNUZ", 8},   {"F4", 4},
    {"F6_E2M3", 6},     {"F6_E3M2", 6},
};

const std::set<std::string> kQuantizable = {"F16", "BF16", "F32", "F64"};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Varied bytes; the top byte of each element of a wide IEEE float has bit 6 cleared so that its
// exponent is never all ones: every value is finite (a NaN would rightly stop the run).
std::string element_bytes(const DtypeCase& d, int64_t numel, uint32_t seed) {
    const size_t n = static_cast<size_t>(numel * d.bits / 8);
    std::string b(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        b[i] = static_cast<char>(x >> 24);
    }
    const std::string name = d.name;
    if (name == "BOOL")
        for (char& c : b) c = static_cast<char>(c & 1);
    if (kQuantizable.count(name)) {
        const size_t width = static_cast<size_t>(d.bits / 8);
        for (size_t i = width - 1; i < n; i += width) b[i] = static_cast<char>(b[i] & ~0x40);
    }
    return b;
}

}  // namespace

TEST_CASE("every safetensors dtype passes through ctq --simple unchanged unless it is a float weight") {
    TempDir dir;
    const std::string in_path = dir / "dtypes.safetensors", out_path = dir / "out.safetensors";
    SafetensorsFile file;
    uint32_t seed = 1;
    for (const DtypeCase& d : kDtypes) {
        REQUIRE_MESSAGE(dtype_from_name(d.name).has_value(), d.name);
        file.add(lower(d.name) + ".weight", d.name, {64, 32}, element_bytes(d, 64 * 32, seed++));
        file.add(lower(d.name) + ".vec", d.name, {32}, element_bytes(d, 32, seed++));
    }
    file.write(in_path);
    const std::string before = file_bytes(in_path);

    const RunResult dry = run_ctq("-i " + in_path + " -o " + out_path + " --simple --dry-run");
    INFO(dry.output);
    REQUIRE(dry.status == 0);
    CHECK(!std::filesystem::exists(out_path));
    std::map<std::string, std::string> plan_line;  // key -> its --dry-run line
    std::istringstream lines(dry.output);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string word;
        while (words >> word)
            if (word.find('.') != std::string::npos) plan_line[word] = line;
    }
    const std::string& f8_line = plan_line["f8_e4m3.weight"];
    CHECK(f8_line.rfind("keep", 0) == 0);
    CHECK(f8_line.find("already quantized (F8_E4M3)") != std::string::npos);
    CHECK(plan_line["i32.weight"].find("not a float dtype") != std::string::npos);
    CHECK(plan_line["bf16.weight"].rfind("quantize", 0) == 0);

    const RunResult r = run_ctq("-i " + in_path + " -o " + out_path + " --simple --no_progress");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(file_bytes(in_path) == before);
    SafetensorsReader in(in_path), out(out_path);
    size_t kept = 0, quantized = 0;
    for (const TensorInfo& t : in.tensors()) {
        INFO("tensor " << t.name << " (" << dtype_name(t.dtype) << ")");
        const TensorInfo* o = out.find(t.name);
        REQUIRE(o != nullptr);
        const bool float_weight = t.shape.size() == 2 && kQuantizable.count(dtype_name(t.dtype));
        if (float_weight) {
            CHECK(o->dtype == CTQ_DTYPE_F8_E4M3);
            CHECK(o->shape == t.shape);
            const std::string base = t.name.substr(0, t.name.size() - std::strlen(".weight"));
            CHECK(out.find(base + ".weight_scale") != nullptr);
            CHECK(out.find(base + ".comfy_quant") != nullptr);
            ++quantized;
        } else {
            CHECK(o->dtype == t.dtype);
            CHECK(o->shape == t.shape);
            REQUIRE(o->nbytes() == t.nbytes());
            CHECK(std::memcmp(out.data(*o), in.data(t), t.nbytes()) == 0);
            ++kept;
        }
    }
    CHECK(quantized == kQuantizable.size());
    CHECK(kept == 2 * std::size(kDtypes) - kQuantizable.size());
    CHECK(out.tensors().size() == in.tensors().size() + 2 * kQuantizable.size());
}
