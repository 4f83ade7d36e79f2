#include "plan/user_regex.hpp"

#include "core/error.hpp"

namespace ctq {

std::regex compile_user_regex(const std::string& pattern, const std::string& what) {
    for (size_t i = 0; i + 1 < pattern.size(); ++i) {
        if (pattern[i] != '\\') continue;
        const char next = pattern[++i];
        if (next == 'A' || next == 'Z')
            fail(what, "",
                 std::string("regex '") + pattern + "': \\" + next +
                     " is Python-only syntax; use " + (next == 'A' ? "^" : "$"));
    }
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        fail(what, "",
             "invalid regex '" + pattern +
                 "' (ECMAScript syntax; Python-only forms such as "
                 "(?P<name>...), (?i) and lookbehind are not supported): " +
                 e.what());
    }
}

}  // namespace ctq
