#include "quant/layout_ops.hpp"

#include "core/error.hpp"

#include <ctq/dtype.hpp>

namespace ctq {

ctq_tensor_view cpu_view(const void* data, ctq_dtype dtype, const std::vector<int64_t>& shape) {
    ctq_tensor_view v{};
    v.data = const_cast<void*>(data);
    v.dtype = dtype;
    v.ndim = static_cast<int32_t>(shape.size());
    int64_t stride = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
        v.shape[d] = shape[d];
        v.strides[d] = stride;
        stride *= shape[d];
    }
    v.device = ctq_device{CTQ_DEVICE_CPU, 0, nullptr};
    return v;
}

namespace {
std::vector<int64_t> spec_shape(const ctq_tensor_spec& s) {
    return std::vector<int64_t>(s.shape, s.shape + s.ndim);
}
}  // namespace

std::vector<ctq_tensor_view> QuantizedLayer::views() {
    std::vector<ctq_tensor_view> v;
    for (size_t i = 0; i < specs.size(); ++i)
        v.push_back(cpu_view(buffers[i].data(), static_cast<ctq_dtype>(specs[i].dtype),
                             spec_shape(specs[i])));
    return v;
}

std::vector<ctq_tensor_view> QuantizedLayer::views() const {
    return const_cast<QuantizedLayer*>(this)->views();
}

LayoutOps::LayoutOps(const ctq_layout_desc& desc, const ctq_layout_params& params, std::string layer)
    : desc_(&desc), params_(params), layer_(std::move(layer)) {
    params_.struct_size = sizeof(ctq_layout_params);
}

void LayoutOps::raise(const char* op, int32_t status, const ctq_error& err) const {
    fail("", layer_,
         std::string("layout '") + desc_->name + "' " + op + " failed (status " +
             std::to_string(status) + "): " + err.message);
}

std::vector<ctq_tensor_spec> LayoutOps::specs(int64_t rows, int64_t cols) const {
    const int64_t shape[2] = {rows, cols};
    ctq_tensor_spec specs[CTQ_MAX_OUTPUTS]{};
    int32_t count = 0;
    ctq_error err{};
    check("output_specs", desc_->output_specs(desc_->user, shape, &params_, specs, &count, &err), err);
    if (count < 1 || count > CTQ_MAX_OUTPUTS)
        fail("", layer_, std::string("layout '") + desc_->name + "' declared no outputs");
    return std::vector<ctq_tensor_spec>(specs, specs + count);
}

std::string LayoutOps::comfy_quant_json() const {
    char buf[4096];
    size_t len = 0;
    ctq_error err{};
    check("comfy_quant_json", desc_->comfy_quant_json(desc_->user, &params_, buf, sizeof buf, &len, &err), err);
    return std::string(buf, len);
}

QuantizedLayer LayoutOps::allocate(int64_t rows, int64_t cols) const {
    return allocate(rows, cols, [](size_t n) { return std::vector<uint8_t>(n); });
}

QuantizedLayer LayoutOps::allocate(int64_t rows, int64_t cols,
                                   const std::function<std::vector<uint8_t>(size_t)>& buffer) const {
    QuantizedLayer q;
    q.rows = rows;
    q.cols = cols;
    q.specs = specs(rows, cols);
    for (const auto& s : q.specs) {
        uint64_t n = 1;
        for (int i = 0; i < s.ndim; ++i) n *= static_cast<uint64_t>(s.shape[i]);
        const auto bytes = byte_size(static_cast<ctq_dtype>(s.dtype), n);
        if (!bytes) fail("", layer_, std::string("output ") + s.suffix + " has an impossible size");
        q.buffers.push_back(buffer(static_cast<size_t>(*bytes)));
    }
    return q;
}

void LayoutOps::quantize(const float* w, QuantizedLayer& q) const {
    const auto in = cpu_view(w, CTQ_DTYPE_F32, {q.rows, q.cols});
    auto outs = q.views();
    ctq_error err{};
    check("quantize", desc_->quantize(desc_->user, &in, &params_, outs.data(),
                                      static_cast<int32_t>(outs.size()), &err), err);
}

bool LayoutOps::accepts_stored(const void* w, ctq_dtype dtype) const {
    const bool half = dtype == CTQ_DTYPE_BF16 || dtype == CTQ_DTYPE_F16;
    if (dtype != CTQ_DTYPE_F32 && !(half && (desc_->flags & CTQ_LAYOUT_ACCEPTS_16BIT_INPUT))) return false;
    return reinterpret_cast<uintptr_t>(w) % (half ? 2 : 4) == 0;
}

bool LayoutOps::quantize_stored(const void* w, ctq_dtype dtype, QuantizedLayer& q) const {
    const auto in = cpu_view(w, dtype, {q.rows, q.cols});
    auto outs = q.views();
    ctq_error err{};
    const int32_t status =
        desc_->quantize(desc_->user, &in, &params_, outs.data(), static_cast<int32_t>(outs.size()), &err);
    if (status == CTQ_ERR_NON_FINITE) return false;
    check("quantize", status, err);
    return true;
}

bool LayoutOps::try_quantize(const ctq_tensor_view& w, std::vector<ctq_tensor_view>& outs) const {
    ctq_error err{};
    const int32_t status =
        desc_->quantize(desc_->user, &w, &params_, outs.data(), static_cast<int32_t>(outs.size()), &err);
    if (status == CTQ_ERR_UNSUPPORTED) return false;
    check("quantize", status, err);
    return true;
}

void LayoutOps::dequantize(const QuantizedLayer& q, float* w_out) const {
    auto out = cpu_view(w_out, CTQ_DTYPE_F32, {q.rows, q.cols});
    const auto outs = q.views();
    ctq_error err{};
    check("dequantize", desc_->dequantize(desc_->user, outs.data(), static_cast<int32_t>(outs.size()),
                                          &params_, &out, &err), err);
}

void LayoutOps::bracket(const float* x, const QuantizedLayer& q, float* lo, float* hi) const {
    if (!desc_->bracket) fail("", layer_, std::string("layout '") + desc_->name + "' has no grid operations");
    const auto xv = cpu_view(x, CTQ_DTYPE_F32, {q.rows, q.cols});
    auto lv = cpu_view(lo, CTQ_DTYPE_F32, {q.rows, q.cols});
    auto hv = cpu_view(hi, CTQ_DTYPE_F32, {q.rows, q.cols});
    const auto outs = q.views();
    ctq_error err{};
    check("bracket", desc_->bracket(desc_->user, &xv, outs.data(), static_cast<int32_t>(outs.size()),
                                    &params_, &lv, &hv, &err), err);
}

void LayoutOps::encode_values(const float* v, QuantizedLayer& q) const {
    if (!desc_->encode_values) fail("", layer_, std::string("layout '") + desc_->name + "' has no grid operations");
    const auto vv = cpu_view(v, CTQ_DTYPE_F32, {q.rows, q.cols});
    auto outs = q.views();
    ctq_error err{};
    check("encode_values", desc_->encode_values(desc_->user, &vv, outs.data(),
                                                static_cast<int32_t>(outs.size()), &params_, &err), err);
}

void LayoutOps::expand_scale(const QuantizedLayer& q, float* scale_out) const {
    if (!desc_->expand_scale) fail("", layer_, std::string("layout '") + desc_->name + "' has no grid operations");
    auto sv = cpu_view(scale_out, CTQ_DTYPE_F32, {q.rows, q.cols});
    const auto outs = q.views();
    ctq_error err{};
    check("expand_scale", desc_->expand_scale(desc_->user, outs.data(), static_cast<int32_t>(outs.size()),
                                              &params_, &sv, &err), err);
}

}  // namespace ctq
