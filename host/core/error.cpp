#include "core/error.hpp"

namespace ctq {

std::string describe(const std::string& file, const std::string& tensor, const std::string& problem) {
    std::string s;
    if (!file.empty()) s += file + ": ";
    if (!tensor.empty()) s += "tensor '" + tensor + "': ";
    return s + problem;
}

void fail(const std::string& file, const std::string& tensor, const std::string& problem) {
    throw CtqError(describe(file, tensor, problem));
}

}  // namespace ctq
