// Rules (the same as huggingface/safetensors, a little stricter where it costs nothing):
// - the header is one JSON object, UTF-8, nesting at most kMaxJsonDepth, no duplicate keys;
// - "__metadata__", when present, maps strings to strings;
// - every other key is a non-empty tensor name without control bytes, whose value holds exactly
//   "dtype" (a known name), "shape" (non-negative integers, product fits 64 bits) and
//   "data_offsets" [begin, end] with begin <= end and end - begin == numel * bits / 8;
// - sorted by offset, the ranges follow each other without holes or overlaps and end exactly at
//   the end of the file.
#include "io/safetensors_header.hpp"

#include "core/error.hpp"

#include <ctq/dtype.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_set>

namespace ctq {

using nlohmann::json;

std::string printable_name(const std::string& name) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            s += "\\x";
            s += hex[c >> 4];
            s += hex[c & 15];
        } else {
            s += static_cast<char>(c);
        }
    }
    return s;
}

namespace {

// nlohmann keeps the last of duplicate keys silently and nests without limit. A first SAX pass
// (no DOM) refuses both; its parser callback API would do it in one pass but rescans the parent
// object after every child, which is quadratic in the tensor count.
class HeaderGuard : public nlohmann::json_sax<json> {
public:
    explicit HeaderGuard(const std::string& file) : file_(file) {}

    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
        keys_.emplace_back();
        return enter();
    }
    bool end_object() override {
        keys_.pop_back();
        --depth_;
        return true;
    }
    bool start_array(std::size_t) override { return enter(); }
    bool end_array() override {
        --depth_;
        return true;
    }
    bool key(string_t& k) override {
        const bool top = depth_ == 1;
        if (top && ++top_keys_ > kMaxTensorCount + 1)
            fail(file_, "", "header lists more than " + std::to_string(kMaxTensorCount) + " tensors");
        if (top) entry_ = k;
        if (!keys_.back().insert(k).second)
            fail(file_, printable_name(entry_),
                 top ? "duplicate key in header" : "duplicate key '" + printable_name(k) + "' in its entry");
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
        fail(file_, "", std::string("header is not valid JSON: ") + e.what());
    }

private:
    bool enter() {
        if (++depth_ > kMaxJsonDepth)
            fail(file_, "", "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        return true;
    }

    const std::string& file_;
    int depth_ = 0;
    uint64_t top_keys_ = 0;
    std::string entry_;  // the top-level key being parsed, to name it in messages
    std::vector<std::unordered_set<std::string>> keys_;
};

json parse_json(const std::string& file, const char* text, uint64_t size) {
    if (size == 0 || text[0] != '{') fail(file, "", "header does not start with '{'");
    HeaderGuard guard(file);
    try {
        json::sax_parse(text, text + size, &guard);
        json j = json::parse(text, text + size);
        if (!j.is_object()) fail(file, "", "header is not a JSON object");
        return j;
    } catch (const json::exception& e) {
        fail(file, "", std::string("header is not valid JSON: ") + e.what());
    }
}

std::map<std::string, std::string> parse_metadata(const std::string& file, const json& j) {
    if (!j.is_object()) fail(file, "", "__metadata__ is not an object");
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : j.items()) {
        if (!value.is_string())
            fail(file, "", "__metadata__ value of '" + printable_name(key) + "' is not a string");
        out.emplace(key, value.get<std::string>());
    }
    return out;
}

uint64_t as_u64(const std::string& file, const std::string& tensor, const json& v, const char* what) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) fail(file, tensor, std::string(what) + " is negative");
    fail(file, tensor, std::string(what) + " is not an integer");
}

TensorInfo parse_tensor(const std::string& file, const std::string& name, const json& j) {
    const std::string shown = printable_name(name);
    if (name.empty()) fail(file, "", "empty tensor name");
    if (shown != name) fail(file, shown, "tensor name contains control characters");
    if (!j.is_object()) fail(file, shown, "entry is not an object");
    for (const auto& [key, value] : j.items())
        if (key != "dtype" && key != "shape" && key != "data_offsets")
            fail(file, shown, "unexpected field '" + printable_name(key) + "'");
    if (!j.contains("dtype") || !j.contains("shape") || !j.contains("data_offsets"))
        fail(file, shown, "entry needs dtype, shape and data_offsets");

    TensorInfo t;
    t.name = name;
    const json& dtype = j["dtype"];
    if (!dtype.is_string()) fail(file, shown, "dtype is not a string");
    const auto d = dtype_from_name(dtype.get_ref<const std::string&>());
    if (!d) fail(file, shown, "unknown dtype '" + printable_name(dtype.get<std::string>()) + "'");
    t.dtype = *d;

    const json& shape = j["shape"];
    if (!shape.is_array()) fail(file, shown, "shape is not an array");
    uint64_t numel = 1;
    for (const json& dim : shape) {
        const uint64_t n = as_u64(file, shown, dim, "shape dimension");
        if (n > static_cast<uint64_t>(INT64_MAX)) fail(file, shown, "shape dimension too large");
        if (__builtin_mul_overflow(numel, n, &numel)) fail(file, shown, "shape product overflows 64 bits");
        t.shape.push_back(static_cast<int64_t>(n));
    }

    const json& offsets = j["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) fail(file, shown, "data_offsets is not [begin, end]");
    t.begin = as_u64(file, shown, offsets[0], "data offset");
    t.end = as_u64(file, shown, offsets[1], "data offset");
    if (t.begin > t.end) fail(file, shown, "data_offsets begin is after end");

    const auto bytes = byte_size(t.dtype, numel);
    if (!bytes)
        fail(file, shown, "shape of " + std::to_string(numel) + " elements is not a whole number of bytes of " +
                              dtype_name(t.dtype));
    if (*bytes != t.nbytes())
        fail(file, shown, "size mismatch: shape needs " + std::to_string(*bytes) + " bytes, data_offsets span " +
                              std::to_string(t.nbytes()));
    return t;
}

void check_layout(const std::string& file, const std::vector<TensorInfo>& tensors, uint64_t data_size) {
    uint64_t expected = 0;
    const TensorInfo* previous = nullptr;
    for (const TensorInfo& t : tensors) {
        if (t.end > data_size)
            fail(file, printable_name(t.name), "data_offsets end " + std::to_string(t.end) +
                                                   " is past the data section of " + std::to_string(data_size) + " bytes");
        if (t.begin < expected)
            fail(file, printable_name(t.name), "byte range overlaps tensor '" + printable_name(previous->name) + "'");
        if (t.begin > expected)
            fail(file, printable_name(t.name), "hole of " + std::to_string(t.begin - expected) +
                                                   " bytes before this tensor");
        expected = t.end;
        previous = &t;
    }
    if (expected != data_size)
        fail(file, "", std::to_string(data_size - expected) + " trailing bytes after the last tensor");
}

}  // namespace

ParsedHeader parse_safetensors_header(const std::string& file, const char* text, uint64_t size,
                                      uint64_t data_size) {
    const json j = parse_json(file, text, size);
    ParsedHeader out;
    out.tensors.reserve(j.size());
    for (const auto& [key, value] : j.items()) {
        if (key == "__metadata__")
            out.metadata = parse_metadata(file, value);
        else
            out.tensors.push_back(parse_tensor(file, key, value));
    }
    std::stable_sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    check_layout(file, out.tensors, data_size);
    return out;
}

}  // namespace ctq
