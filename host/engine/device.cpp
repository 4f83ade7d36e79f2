#include "engine/device.hpp"

#include "core/error.hpp"

#include <optional>

namespace ctq::engine {

torch::Device checked_device(const std::string& name, const std::string& who) {
    std::optional<torch::Device> d;
    try {
        d.emplace(name);
    } catch (const c10::Error&) {
        throw CtqError(who + ": unknown device '" + name + "' (use cpu, cuda or cuda:N)");
    }
    if (d->is_cuda() && !torch::cuda::is_available())
        throw CtqError(who + ": device '" + name + "' requested but this LibTorch has no usable CUDA device");
    if (d->is_cuda() && d->has_index() && d->index() >= static_cast<int>(torch::cuda::device_count()))
        throw CtqError(who + ": device '" + name + "' does not exist (" + std::to_string(torch::cuda::device_count()) +
                       " CUDA device(s))");
    return *d;
}

}  // namespace ctq::engine
