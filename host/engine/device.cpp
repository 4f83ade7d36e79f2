#include "engine/device.hpp"

#include "core/error.hpp"
#include "engine/torch_stream.hpp"

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

void warm_up_cuda(int index) noexcept {
    try {
        const torch::Device d = checked_device("cuda:" + std::to_string(index), "warm-up");
        torch::NoGradGuard no_grad;
        const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(d);
        constexpr int64_t n = 1024;  // large enough for the code paths the layers take
        const auto a = torch::randn({n, n}, f64);
        const auto gram = torch::matmul(a, a.t()) + n * torch::eye(n, f64);
        (void)torch::linalg_eigh(gram);
        const auto [r, info] = torch::linalg_cholesky_ex(gram, /*upper=*/true);
        (void)torch::linalg_solve_triangular(r, a, /*upper=*/true, /*left=*/false);
        for (const auto t : {torch::kFloat32, torch::kBFloat16}) {
            const auto b = a.to(t);
            (void)torch::matmul(b, b.t());
        }
        sync_stream(d);
    } catch (...) {  // only a head start: the layers report any real problem themselves
    }
}

}  // namespace ctq::engine
