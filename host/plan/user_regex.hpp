// Regexes written by users for the reference's Python `re` (--exclude-layers, --custom-layers,
// layer-config patterns), compiled as ECMAScript std::regex. The common subset behaves the same.
// Python-only syntax is refused, never misread: std::regex already rejects (?P<name>...), (?i)
// and lookbehind, but would silently take \A and \Z as the letters A and Z, so those are checked
// here.
#pragma once

#include <regex>
#include <string>

namespace ctq {

// `what` names the source in the error ("--exclude-layers", "FILE: layer config key 'x'").
std::regex compile_user_regex(const std::string& pattern, const std::string& what);

}  // namespace ctq
