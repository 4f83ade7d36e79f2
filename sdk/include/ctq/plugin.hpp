// Header-only C++ layer over ctq_plugin.h. Write a plugin as ordinary C++ classes; this file
// makes the C trampolines, catches every exception at the boundary and exports the two symbols.
//
//   #include <ctq/plugin.hpp>
//   class MyLayout : public ctq::Layout { ... };
//   CTQ_PLUGIN("my_plugin", "1.0", "what it adds") {
//       static MyLayout layout;
//       reg.add(layout);
//   }
//
// Nothing here depends on the host's sources or on LibTorch.
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctq {

// Thrown inside plugin code; turned into the given status at the boundary.
class Error : public std::runtime_error {
public:
    Error(ctq_status status, const std::string& what) : std::runtime_error(what), status_(status) {}
    ctq_status status() const { return status_; }

private:
    ctq_status status_;
};

inline void set_error(ctq_error* err, const std::string& message) {
    if (!err) return;
    std::snprintf(err->message, sizeof(err->message), "%s", message.c_str());
}

// Runs fn, mapping exceptions to a status and message; never lets one cross the C boundary.
template <class Fn>
int32_t guard(ctq_error* err, Fn&& fn) noexcept {
    try {
        fn();
        return CTQ_OK;
    } catch (const Error& e) {
        set_error(err, e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_error(err, "out of memory");
        return CTQ_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return CTQ_ERR_INTERNAL;
    } catch (...) {
        set_error(err, "unknown exception");
        return CTQ_ERR_INTERNAL;
    }
}

// ---------------------------------------------------------------------------------------------
// Views

inline int64_t numel(const ctq_tensor_view& v) {
    int64_t n = 1;
    for (int i = 0; i < v.ndim; ++i) n *= v.shape[i];
    return n;
}

inline bool is_contiguous(const ctq_tensor_view& v) {
    int64_t expect = 1;
    for (int i = v.ndim - 1; i >= 0; --i) {
        if (v.shape[i] != 1 && v.strides[i] != expect) return false;
        expect *= v.shape[i];
    }
    return true;
}

inline ctq_tensor_view make_view(void* data, ctq_dtype dtype, std::initializer_list<int64_t> shape,
                                 ctq_device device = ctq_device{CTQ_DEVICE_CPU, 0, nullptr}) {
    ctq_tensor_view v{};
    v.data = data;
    v.dtype = dtype;
    v.ndim = static_cast<int32_t>(shape.size());
    int i = 0;
    for (int64_t s : shape) v.shape[i++] = s;
    int64_t stride = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
        v.strides[d] = stride;
        stride *= v.shape[d];
    }
    v.device = device;
    return v;
}

inline bool on_cuda(const ctq_tensor_view& v) { return v.device.kind == CTQ_DEVICE_CUDA; }

// Checks a weight handed to a layout: F32, 2-D, contiguous.
inline void require_weight(const ctq_tensor_view& w, const char* what = "weight") {
    if (w.dtype != CTQ_DTYPE_F32 || w.ndim != 2 || !is_contiguous(w))
        throw Error(CTQ_ERR_INVALID_ARGUMENT,
                    std::string(what) + " must be a contiguous 2-D F32 view");
}

inline ctq_tensor_spec make_spec(const char* suffix, ctq_dtype dtype,
                                 std::initializer_list<int64_t> shape) {
    ctq_tensor_spec s{};
    std::snprintf(s.suffix, sizeof(s.suffix), "%s", suffix);
    s.dtype = dtype;
    s.ndim = static_cast<int32_t>(shape.size());
    int i = 0;
    for (int64_t d : shape) s.shape[i++] = d;
    return s;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---------------------------------------------------------------------------------------------
// Layouts

struct Shape2 {
    int64_t rows, cols;
};

// Subclass and override; the default grid operations throw CTQ_ERR_UNSUPPORTED.
class Layout {
public:
    virtual ~Layout() = default;
    virtual const char* name() const = 0;
    virtual const char* description() const = 0;
    virtual const char* family() const = 0;
    virtual const char* scaling_modes() const = 0;  // e.g. "tensor,row"
    virtual ctq_dtype storage_dtype() const = 0;
    virtual uint32_t flags() const = 0;

    virtual std::vector<ctq_tensor_spec> output_specs(Shape2 shape,
                                                      const ctq_layout_params& p) const = 0;
    virtual std::string comfy_quant_json(const ctq_layout_params& p) const = 0;
    virtual void quantize(const ctq_tensor_view& w, const ctq_layout_params& p,
                          ctq_tensor_view* outs, int n) const = 0;
    virtual void dequantize(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                            ctq_tensor_view& w_out) const = 0;

    virtual void bracket(const ctq_tensor_view&, const ctq_tensor_view*, int,
                         const ctq_layout_params&, ctq_tensor_view&, ctq_tensor_view&) const {
        throw Error(CTQ_ERR_UNSUPPORTED, std::string(name()) + ": no grid operations");
    }
    virtual void encode_values(const ctq_tensor_view&, ctq_tensor_view*, int,
                               const ctq_layout_params&) const {
        throw Error(CTQ_ERR_UNSUPPORTED, std::string(name()) + ": no grid operations");
    }
    virtual void expand_scale(const ctq_tensor_view*, int, const ctq_layout_params&,
                              ctq_tensor_view&) const {
        throw Error(CTQ_ERR_UNSUPPORTED, std::string(name()) + ": no grid operations");
    }

    // The C descriptor pointing back at this object; valid while the object lives.
    const ctq_layout_desc* descriptor() {
        desc_ = ctq_layout_desc{};
        desc_.struct_size = sizeof(ctq_layout_desc);
        desc_.name = name();
        desc_.description = description();
        desc_.family = family();
        desc_.scaling_modes = scaling_modes();
        desc_.storage_dtype = storage_dtype();
        desc_.flags = flags();
        desc_.user = this;
        desc_.output_specs = &Layout::c_output_specs;
        desc_.comfy_quant_json = &Layout::c_comfy_quant_json;
        desc_.quantize = &Layout::c_quantize;
        desc_.dequantize = &Layout::c_dequantize;
        desc_.bracket = &Layout::c_bracket;
        desc_.encode_values = &Layout::c_encode_values;
        desc_.expand_scale = &Layout::c_expand_scale;
        return &desc_;
    }

private:
    ctq_layout_desc desc_{};
    static const Layout& self(void* user) { return *static_cast<const Layout*>(user); }

    static int32_t c_output_specs(void* user, const int64_t shape[2], const ctq_layout_params* p,
                                  ctq_tensor_spec* specs, int32_t* count, ctq_error* err) {
        return guard(err, [&] {
            auto v = self(user).output_specs(Shape2{shape[0], shape[1]}, *p);
            if (v.size() > CTQ_MAX_OUTPUTS) throw Error(CTQ_ERR_INTERNAL, "too many outputs");
            for (size_t i = 0; i < v.size(); ++i) specs[i] = v[i];
            *count = static_cast<int32_t>(v.size());
        });
    }
    static int32_t c_comfy_quant_json(void* user, const ctq_layout_params* p, char* buf,
                                      size_t capacity, size_t* len, ctq_error* err) {
        return guard(err, [&] {
            std::string s = self(user).comfy_quant_json(*p);
            if (s.size() > capacity) throw Error(CTQ_ERR_INTERNAL, "comfy_quant JSON too long");
            std::memcpy(buf, s.data(), s.size());
            *len = s.size();
        });
    }
    static int32_t c_quantize(void* user, const ctq_tensor_view* w, const ctq_layout_params* p,
                              ctq_tensor_view* outs, int32_t n, ctq_error* err) {
        return guard(err, [&] { self(user).quantize(*w, *p, outs, n); });
    }
    static int32_t c_dequantize(void* user, const ctq_tensor_view* outs, int32_t n,
                                const ctq_layout_params* p, ctq_tensor_view* w_out,
                                ctq_error* err) {
        return guard(err, [&] { self(user).dequantize(outs, n, *p, *w_out); });
    }
    static int32_t c_bracket(void* user, const ctq_tensor_view* x, const ctq_tensor_view* outs,
                             int32_t n, const ctq_layout_params* p, ctq_tensor_view* lo,
                             ctq_tensor_view* hi, ctq_error* err) {
        return guard(err, [&] { self(user).bracket(*x, outs, n, *p, *lo, *hi); });
    }
    static int32_t c_encode_values(void* user, const ctq_tensor_view* v, ctq_tensor_view* outs,
                                   int32_t n, const ctq_layout_params* p, ctq_error* err) {
        return guard(err, [&] { self(user).encode_values(*v, outs, n, *p); });
    }
    static int32_t c_expand_scale(void* user, const ctq_tensor_view* outs, int32_t n,
                                  const ctq_layout_params* p, ctq_tensor_view* scale_out,
                                  ctq_error* err) {
        return guard(err, [&] { self(user).expand_scale(outs, n, *p, *scale_out); });
    }
};

// ---------------------------------------------------------------------------------------------
// Optimizers

// One instance per parameter tensor; created by the factory below.
class OptimizerState {
public:
    virtual ~OptimizerState() = default;
    virtual void step(float* param, const float* grad, int64_t n, double lr) = 0;
};

// Factory signature: options_json is the optimizer's hyper-parameters as a JSON object.
using OptimizerFactory = OptimizerState* (*)(const char* options_json, int64_t n);

class Optimizer {
public:
    Optimizer(const char* name, const char* description, OptimizerFactory factory)
        : factory_(factory) {
        desc_.struct_size = sizeof(desc_);
        desc_.name = name;
        desc_.description = description;
        desc_.user = this;
        desc_.create = &Optimizer::c_create;
        desc_.step = &Optimizer::c_step;
        desc_.destroy = &Optimizer::c_destroy;
    }
    const ctq_optimizer_desc* descriptor() const { return &desc_; }

private:
    OptimizerFactory factory_;
    ctq_optimizer_desc desc_{};

    static int32_t c_create(void* user, const char* options_json, int64_t n, void** state,
                            ctq_error* err) {
        return guard(err, [&] {
            *state = static_cast<Optimizer*>(user)->factory_(options_json ? options_json : "{}", n);
        });
    }
    static int32_t c_step(void* state, ctq_tensor_view* param, const ctq_tensor_view* grad,
                          double lr, ctq_error* err) {
        return guard(err, [&] {
            if (param->dtype != CTQ_DTYPE_F32 || grad->dtype != CTQ_DTYPE_F32 ||
                on_cuda(*param) || on_cuda(*grad))
                throw Error(CTQ_ERR_UNSUPPORTED, "optimizer step needs CPU F32 views");
            if (numel(*param) != numel(*grad))
                throw Error(CTQ_ERR_INVALID_ARGUMENT, "param and grad differ in size");
            static_cast<OptimizerState*>(state)->step(static_cast<float*>(param->data),
                                                      static_cast<const float*>(grad->data),
                                                      numel(*param), lr);
        });
    }
    static void c_destroy(void* state) { delete static_cast<OptimizerState*>(state); }
};

// ---------------------------------------------------------------------------------------------
// Registration

class Registrar {
public:
    Registrar(const ctq_host_api* host, const ctq_registrar* reg) : host_(host), reg_(reg) {}

    void info(const char* name, const char* version, const char* description) {
        reg_->set_info(reg_->host_ctx, name, version, description);
    }
    void add(Layout& layout) { check(reg_->add_layout(reg_->host_ctx, layout.descriptor(), &err_)); }
    void add(const Optimizer& opt) {
        check(reg_->add_optimizer(reg_->host_ctx, opt.descriptor(), &err_));
    }
    void add(const ctq_preset_desc& preset) {
        check(reg_->add_preset(reg_->host_ctx, &preset, &err_));
    }
    void log(ctq_log_level level, const std::string& msg) const {
        if (host_ && host_->log) host_->log(host_->host_ctx, level, msg.c_str());
    }

private:
    const ctq_host_api* host_;
    const ctq_registrar* reg_;
    ctq_error err_{};
    void check(int32_t status) {
        if (status != CTQ_OK) throw Error(static_cast<ctq_status>(status), err_.message);
    }
};

}  // namespace ctq

// Defines both exported symbols. The body sees `ctq::Registrar& reg`.
#define CTQ_PLUGIN(NAME, VERSION, DESCRIPTION)                                                   \
    static void ctq_plugin_register_(ctq::Registrar& reg);                                       \
    extern "C" CTQ_EXPORT uint32_t ctq_plugin_abi_version(void) { return CTQ_ABI_VERSION; }      \
    extern "C" CTQ_EXPORT int32_t ctq_plugin_entry(const ctq_host_api* host,                     \
                                                   const ctq_registrar* r, ctq_error* err) {     \
        return ctq::guard(err, [&] {                                                             \
            ctq::Registrar reg(host, r);                                                         \
            reg.info(NAME, VERSION, DESCRIPTION);                                                \
            ctq_plugin_register_(reg);                                                           \
        });                                                                                      \
    }                                                                                            \
    static void ctq_plugin_register_(ctq::Registrar& reg)
