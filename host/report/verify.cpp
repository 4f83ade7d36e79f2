#include "report/verify.hpp"

#include "core/error.hpp"
#include "pipeline/engine_loader.hpp"
#include "io/convert_dtype.hpp"
#include "io/safetensors_reader.hpp"
#include "plugins/registry.hpp"
#include "quant/comfy_quant_params.hpp"
#include "quant/layout_ops.hpp"
#include "report/output_error.hpp"

#include <cstring>

namespace ctq {

namespace {

const char* kModes[] = {"tensor", "row", "block"};

bool spec_matches(const ctq_tensor_spec& s, const TensorInfo* t) {
    return t && t->dtype == s.dtype && t->shape == std::vector<int64_t>(s.shape, s.shape + s.ndim);
}

// The file's tensors for a layer, in the layout's spec order; tries each scaling mode the
// layout serves, since files from other tools may omit hints such as per_row.
bool load_layer(const SafetensorsReader& q, const std::string& base, LayoutChoice& c, int64_t rows, int64_t cols,
                QuantizedLayer& out, std::string& why) {
    for (int m = 0; m < 3; ++m) {
        if (!lists_mode(c.layout->scaling_modes, kModes[m])) continue;
        ctq_layout_params p = c.params;
        p.scaling_mode = m;
        LayoutOps ops(*c.layout, p, base);
        auto specs = ops.specs(rows, cols);
        bool ok = true;
        for (const auto& s : specs) ok = ok && spec_matches(s, q.find(base + s.suffix));
        if (!ok) continue;
        c.params = p;
        out = ops.allocate(rows, cols);
        for (size_t i = 0; i < specs.size(); ++i) {
            const TensorInfo* t = q.find(base + specs[i].suffix);
            std::memcpy(out.buffers[i].data(), q.data(*t), t->nbytes());
        }
        return true;
    }
    why = "tensors do not match what layout '" + c.format + "' writes for shape " + std::to_string(rows) + "x" +
          std::to_string(cols);
    return false;
}

std::vector<float> weight_f32(const SafetensorsReader& r, const TensorInfo& t) {
    std::vector<float> w(t.numel());
    to_f32(r.data(t), t.dtype, t.numel(), w.data());
    return w;
}

}  // namespace

VerifyResult verify_files(const VerifyOptions& o, const Registry& registry) {
    SafetensorsReader orig(o.original), quant(o.quantized);
    VerifyResult res;
    for (const auto& t : quant.tensors()) {
        const std::string suffix = ".comfy_quant";
        if (t.name.size() <= suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string base = t.name.substr(0, t.name.size() - suffix.size());
        const TensorInfo* ow = orig.find(base + ".weight");
        auto problem = [&](const std::string& why) { res.problems.push_back(base + ": " + why); };
        if (!ow || ow->shape.size() != 2) { problem("no 2-D weight in " + o.original); continue; }
        LayoutChoice c;
        try {
            c = layout_from_comfy_quant(std::string(reinterpret_cast<const char*>(quant.data(t)), t.nbytes()), registry);
        } catch (const CtqError& e) { problem(e.what()); continue; }
        if (!c.layout) { problem("no loaded plugin knows format '" + c.format + "'"); continue; }
        const int64_t rows = ow->shape[0], cols = ow->shape[1];
        QuantizedLayer q;
        std::string why;
        if (!load_layer(quant, base, c, rows, cols, q, why)) { problem(why); continue; }
        const auto w = weight_f32(orig, *ow);
        std::vector<float> wq(w.size());
        LayoutOps(*c.layout, c.params, base).dequantize(q, wq.data());
        std::vector<float> scales;
        if (q.specs.size() > 1 && q.specs[1].dtype == CTQ_DTYPE_F32) {
            const auto* p = reinterpret_cast<const float*>(q.buffers[1].data());
            scales.assign(p, p + q.buffers[1].size() / 4);
        }
        LayerStats s = measure_layer(base, c.format, rows, cols, w.data(), wq.data(), scales);
        if (o.subspace) {
            const int64_t k = engine().learned_rank(rows, cols, o.top_p, o.min_k, o.max_k);
            s.subspace_rel_error = engine().relative_subspace_error(w.data(), wq.data(), rows, cols, k, o.seed, o.exact_subspace, o.device);
        }
        if (o.linear_tokens > 0) {
            const OutputError e = output_error(w.data(), wq.data(), rows, cols, o.linear_tokens, o.seed, c.format, q,
                                               c.params.block_size);
            s.output_rel_error = e.weight_only;
            s.int8_gemm_rel_error = e.int8_gemm;
        }
        res.layers.push_back(std::move(s));
    }
    return res;
}

}  // namespace ctq
