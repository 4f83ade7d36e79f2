// Test helper: builds safetensors files byte by byte, valid or deliberately broken, in a private
// temporary directory that disappears with the TempDir.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace ctq::test {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ctq-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Every entry of the directory, hidden temporaries included.
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
        return out;
    }

private:
    std::filesystem::path path_;
};

inline std::string u64_le(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// The bytes of a file with `header` as its JSON and `data` after it; the length field says
// header.size() unless `declared_length` overrides it.
inline std::string safetensors_bytes(const std::string& header, const std::string& data = "",
                                     std::optional<uint64_t> declared_length = std::nullopt) {
    return u64_le(declared_length.value_or(header.size())) + header + data;
}

inline std::filesystem::path write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path.string());
    return path;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// One tensor entry of a header: "name":{"dtype":..,"shape":[..],"data_offsets":[b,e]}.
inline std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                         uint64_t begin, uint64_t end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// A named malformed file and the message substring its refusal must contain.
struct MalformedCase {
    const char* name;
    std::string bytes;
    const char* expected;     // substring of the error message
    const char* tensor = "";  // tensor named in the message, when one applies
};

// Every distinct way of breaking a file the reader must refuse (also the fuzzers' seed corpus).
inline std::vector<MalformedCase> malformed_cases() {
    const std::string ok = entry("w", "F32", "[2]", 0, 8);
    const std::string data8(8, '\x01');
    std::string deep = "{\"__metadata__\":{\"a\":" + std::string(20, '[') + std::string(20, ']') + "}}";
    return {
        {"short_file", std::string("\x05\0\0", 3), "too short"},
        {"header_past_end", safetensors_bytes("{" + ok + "}", data8, 1000), "past the end of the file"},
        {"header_huge", safetensors_bytes("{" + ok + "}", data8, 1ull << 40), "exceeds the limit"},
        {"truncated_data", safetensors_bytes("{" + ok + "}", std::string(5, '\x01')), "past the data section", "w"},
        {"invalid_json", safetensors_bytes("{\"w\":{\"dtype\":", data8), "not valid JSON"},
        {"not_object", safetensors_bytes("[1,2]   ", ""), "does not start with '{'"},
        {"unknown_dtype", safetensors_bytes("{" + entry("w", "F12", "[2]", 0, 8) + "}", data8), "unknown dtype", "w"},
        {"size_mismatch", safetensors_bytes("{" + entry("w", "F32", "[3]", 0, 8) + "}", data8), "size mismatch",
         "w"},
        {"offsets_out_of_bounds", safetensors_bytes("{" + entry("w", "U8", "[16]", 0, 16) + "}", data8),
         "past the data section", "w"},
        {"overlap",
         safetensors_bytes("{" + entry("a", "U8", "[6]", 0, 6) + "," + entry("b", "U8", "[4]", 4, 8) + "}", data8),
         "overlaps tensor 'a'", "b"},
        {"hole",
         safetensors_bytes("{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[2]", 6, 8) + "}", data8),
         "hole of 2 bytes", "b"},
        {"trailing_bytes", safetensors_bytes("{" + ok + "}", data8 + "xyz"), "3 trailing bytes"},
        {"duplicate_key", safetensors_bytes("{" + entry("w", "U8", "[4]", 0, 4) + "," + entry("w", "U8", "[4]", 4, 8) + "}", data8),
         "duplicate key", "w"},
        {"duplicate_field", safetensors_bytes("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],"
                                              "\"data_offsets\":[0,8]}}", data8),
         "duplicate key 'dtype' in its entry", "w"},
        {"metadata_not_string_map", safetensors_bytes("{\"__metadata__\":{\"k\":1}," + ok + "}", data8),
         "__metadata__ value of 'k' is not a string"},
        {"metadata_not_object", safetensors_bytes("{\"__metadata__\":[\"k\"]," + ok + "}", data8),
         "__metadata__ is not an object"},
        {"negative_dim", safetensors_bytes("{" + entry("w", "F32", "[-2]", 0, 8) + "}", data8), "is negative", "w"},
        {"float_dim", safetensors_bytes("{" + entry("w", "F32", "[2.0]", 0, 8) + "}", data8), "not an integer", "w"},
        {"shape_overflow",
         safetensors_bytes("{" + entry("w", "U8", "[4294967296,4294967296]", 0, 8) + "}", data8),
         "shape product overflows", "w"},
        {"deep_nesting", safetensors_bytes(deep, ""), "nests deeper than 8"},
        {"bad_utf8_name", safetensors_bytes("{" + entry("w\xff", "F32", "[2]", 0, 8) + "}", data8),
         "ill-formed UTF-8"},
        {"control_char_name", safetensors_bytes("{" + entry("w\\u0001", "F32", "[2]", 0, 8) + "}", data8),
         "control characters", "w\\x01"},
        {"empty_name", safetensors_bytes("{" + entry("", "F32", "[2]", 0, 8) + "}", data8), "empty tensor name"},
        {"begin_after_end", safetensors_bytes("{" + entry("w", "U8", "[0]", 8, 0) + "}", data8),
         "begin is after end", "w"},
        {"missing_field", safetensors_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", data8),
         "needs dtype, shape and data_offsets", "w"},
        {"extra_field",
         safetensors_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", data8),
         "unexpected field 'x'", "w"},
        {"sub_byte_odd", safetensors_bytes("{" + entry("w", "F4", "[3]", 0, 2) + "}", std::string(2, '\0')),
         "not a whole number of bytes of F4", "w"},
        {"entry_not_object", safetensors_bytes("{\"w\":[1]}", ""), "entry is not an object", "w"},
        {"offsets_not_pair", safetensors_bytes("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", "x"),
         "data_offsets is not [begin, end]", "w"},
    };
}

}  // namespace ctq::test
