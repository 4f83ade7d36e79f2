#include "engine/device.hpp"

#include "core/error.hpp"

#include <mutex>
#include <optional>

namespace ctq::engine {

namespace {
// CUDA LibTorch loads its linear-algebra library on the first linalg call, and two threads
// making that first call at once fail ("lazy wrapper should be called at most once"): layers
// learned concurrently would. So the first call is made here, once, before any layer starts.
void load_cuda_linalg(const torch::Device& d) {
    static std::once_flag once;
    std::call_once(once, [&] {
        torch::NoGradGuard no_grad;
        const auto a = torch::eye(2, torch::TensorOptions().dtype(torch::kFloat64).device(d));
        (void)torch::linalg_eigh(a);
    });
}
}  // namespace

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
    if (d->is_cuda()) load_cuda_linalg(*d);
    return *d;
}

}  // namespace ctq::engine
