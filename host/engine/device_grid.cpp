#include "engine/device_grid.hpp"

#include "core/error.hpp"
#include "engine/torch_stream.hpp"

#include <c10/core/DeviceGuard.h>

#include <string>

namespace ctq::engine {

namespace {

torch::Tensor bytes_on(const std::vector<uint8_t>& b, torch::Device d) {
    return torch::from_blob(const_cast<uint8_t*>(b.data()), {static_cast<int64_t>(b.size())}, torch::kUInt8)
        .to(d, /*non_blocking=*/false, /*copy=*/true);
}

torch::Tensor host_f32(const torch::Tensor& x) { return x.to(torch::kCPU).to(torch::kFloat32).contiguous(); }

}  // namespace

DeviceGrid::DeviceGrid(const LayoutOps& ops, const QuantizedLayer& q, torch::Device device)
    : ops_(ops), q_(q), device_(device) {
    if (!device.is_cuda() || !(ops.desc().flags & CTQ_LAYOUT_SUPPORTS_CUDA)) return;
    for (const auto& b : q.buffers) outs_.push_back(bytes_on(b, device));
    device_ = outs_[0].device();  // "cuda" resolved to its index
    stream_ = torch_stream(device_);
    on_device_ = true;
}

void DeviceGrid::check(const char* op, int32_t status, const ctq_error& err) const {
    if (status == CTQ_OK) return;
    fail("", ops_.layer(), std::string("layout '") + ops_.desc().name + "' " + op + " on " + device_.str() +
                               " failed (status " + std::to_string(status) + "): " + err.message);
}

// A layout that turns CUDA views away serves this layer from host copies from now on.
bool DeviceGrid::try_device(const char* op, int32_t status, const ctq_error& err) {
    if (status == CTQ_ERR_UNSUPPORTED) {
        on_device_ = false;
        outs_.clear();
        return false;
    }
    check(op, status, err);
    return true;
}

ctq_tensor_view DeviceGrid::f32_view(const torch::Tensor& t) const {
    auto v = cpu_view(t.data_ptr(), CTQ_DTYPE_F32, {t.size(0), t.size(1)});
    v.device = ctq_device{CTQ_DEVICE_CUDA, static_cast<int32_t>(device_.index()), stream_};
    return v;
}

std::vector<ctq_tensor_view> DeviceGrid::out_views(const torch::Tensor* codes) const {
    std::vector<ctq_tensor_view> views;
    for (size_t i = 0; i < outs_.size(); ++i) {
        const auto& s = q_.specs[i];
        void* data = (i == 0 && codes) ? codes->data_ptr() : outs_[i].data_ptr();
        auto v = cpu_view(data, static_cast<ctq_dtype>(s.dtype), std::vector<int64_t>(s.shape, s.shape + s.ndim));
        v.device = ctq_device{CTQ_DEVICE_CUDA, static_cast<int32_t>(device_.index()), stream_};
        views.push_back(v);
    }
    return views;
}

torch::Tensor DeviceGrid::empty_f32() const {
    return torch::empty({q_.rows, q_.cols}, torch::dtype(torch::kFloat32).device(device_));
}

torch::Tensor DeviceGrid::to_device(const std::vector<float>& v) const {
    // copy=true: on the CPU `to` would otherwise return the view of v itself.
    return torch::from_blob(const_cast<float*>(v.data()), {q_.rows, q_.cols}, torch::kFloat32)
        .to(device_, /*non_blocking=*/false, /*copy=*/true);
}

torch::Tensor DeviceGrid::dequantize() {
    const auto& d = ops_.desc();
    if (on_device_) {
        const c10::DeviceGuard guard(device_);
        auto out = empty_f32();
        const auto outs = out_views(nullptr);
        auto wv = f32_view(out);
        ctq_error err{};
        const auto n = static_cast<int32_t>(outs.size());
        if (try_device("dequantize", d.dequantize(d.user, outs.data(), n, &ops_.params(), &wv, &err), err))
            return out;
    }
    std::vector<float> v(static_cast<size_t>(q_.rows * q_.cols));
    ops_.dequantize(q_, v.data());
    return to_device(v);
}

std::pair<torch::Tensor, torch::Tensor> DeviceGrid::bracket(const torch::Tensor& x) {
    const auto& d = ops_.desc();
    if (on_device_) {
        const c10::DeviceGuard guard(device_);
        const auto xc = x.to(torch::kFloat32).contiguous();
        auto lo = empty_f32(), hi = empty_f32();
        const auto outs = out_views(nullptr);
        const auto xv = f32_view(xc);
        auto lv = f32_view(lo), hv = f32_view(hi);
        ctq_error err{};
        const auto n = static_cast<int32_t>(outs.size());
        if (try_device("bracket", d.bracket(d.user, &xv, outs.data(), n, &ops_.params(), &lv, &hv, &err), err))
            return {lo, hi};
    }
    const auto xc = host_f32(x);
    std::vector<float> lo(static_cast<size_t>(xc.numel())), hi(lo.size());
    ops_.bracket(xc.data_ptr<float>(), q_, lo.data(), hi.data());
    return {to_device(lo), to_device(hi)};
}

torch::Tensor DeviceGrid::expand_scale() {
    const auto& d = ops_.desc();
    if (on_device_) {
        const c10::DeviceGuard guard(device_);
        auto out = empty_f32();
        const auto outs = out_views(nullptr);
        auto sv = f32_view(out);
        ctq_error err{};
        const auto n = static_cast<int32_t>(outs.size());
        if (try_device("expand_scale", d.expand_scale(d.user, outs.data(), n, &ops_.params(), &sv, &err), err))
            return out;
    }
    std::vector<float> v(static_cast<size_t>(q_.rows * q_.cols));
    ops_.expand_scale(q_, v.data());
    return to_device(v);
}

torch::Tensor DeviceGrid::encode_trial(const torch::Tensor& v) {
    const auto& d = ops_.desc();
    if (on_device_) {
        const c10::DeviceGuard guard(device_);
        const auto vc = v.to(torch::kFloat32).contiguous();
        trial_codes_ = outs_[0].clone();
        auto outs = out_views(&trial_codes_);
        const auto vv = f32_view(vc);
        ctq_error err{};
        const auto n = static_cast<int32_t>(outs.size());
        if (try_device("encode_values", d.encode_values(d.user, &vv, outs.data(), n, &ops_.params(), &err), err)) {
            auto written = empty_f32();
            auto wv = f32_view(written);
            check("dequantize", d.dequantize(d.user, outs.data(), n, &ops_.params(), &wv, &err), err);
            return written;
        }
        trial_codes_ = torch::Tensor();
    }
    trial_ = q_;
    const auto vc = host_f32(v);
    ops_.encode_values(vc.data_ptr<float>(), trial_);
    std::vector<float> written(static_cast<size_t>(q_.rows * q_.cols));
    ops_.dequantize(trial_, written.data());
    return to_device(written);
}

void DeviceGrid::commit_trial(QuantizedLayer& q) {
    if (trial_codes_.defined()) {  // only the codes change (ctq_plugin.h, grid operations)
        auto& codes = q.buffers[0];
        torch::from_blob(codes.data(), {static_cast<int64_t>(codes.size())}, torch::kUInt8).copy_(trial_codes_);
        return;
    }
    q = std::move(trial_);
}

}  // namespace ctq::engine
