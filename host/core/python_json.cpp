#include "core/python_json.hpp"

#include <cmath>
#include <cstdio>

namespace ctq {

namespace {

void dump_string(const std::string& s, std::string& out) {
    // Re-use nlohmann's escaping with ensure_ascii, which matches Python's for valid UTF-8.
    out += nlohmann::ordered_json(s).dump(-1, ' ', true);
}

void dump(const nlohmann::ordered_json& j, std::string& out) {
    switch (j.type()) {
        case nlohmann::json::value_t::object: {
            out += '{';
            bool first = true;
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (!first) out += ", ";
                first = false;
                dump_string(it.key(), out);
                out += ": ";
                dump(it.value(), out);
            }
            out += '}';
            break;
        }
        case nlohmann::json::value_t::array: {
            out += '[';
            for (size_t i = 0; i < j.size(); ++i) {
                if (i) out += ", ";
                dump(j[i], out);
            }
            out += ']';
            break;
        }
        case nlohmann::json::value_t::number_float: {
            // Python prints the shortest repr; nlohmann does the same round-trip formatting.
            const double d = j.get<double>();
            if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
            else if (std::isnan(d)) out += "NaN";
            else out += j.dump();
            break;
        }
        case nlohmann::json::value_t::string: dump_string(j.get<std::string>(), out); break;
        default: out += j.dump(); break;
    }
}

}  // namespace

std::string python_json_dumps(const nlohmann::ordered_json& j) {
    std::string out;
    dump(j, out);
    return out;
}

}  // namespace ctq
