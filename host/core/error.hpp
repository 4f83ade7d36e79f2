// The host's one exception type. Messages name the file, the tensor and the problem, because
// that is what a user with an 80 GB download needs to see.
#pragma once

#include <stdexcept>
#include <string>

namespace ctq {

class CtqError : public std::runtime_error {
public:
    explicit CtqError(const std::string& what) : std::runtime_error(what) {}
};

// "<file>: tensor '<name>': <problem>" (parts left out when empty).
std::string describe(const std::string& file, const std::string& tensor, const std::string& problem);

[[noreturn]] void fail(const std::string& file, const std::string& tensor, const std::string& problem);

}  // namespace ctq
