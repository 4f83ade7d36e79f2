#include "tools/demo_model.hpp"

#include "core/error.hpp"
#include "io/convert_dtype.hpp"
#include "io/safetensors_writer.hpp"

#include <ctq/dtype.hpp>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace ctq {

namespace {

// splitmix64: a tiny, well-mixed generator whose stream depends only on its seed, so every row
// can be generated independently (and in parallel) with the same result on any machine.
struct SplitMix {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * 0x1.0p-53; }
    float normal() {  // Box-Muller; the second value is dropped to keep the stream simple
        const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
};

uint64_t mix(uint64_t a, uint64_t b) { return SplitMix{a * 0x9e3779b97f4a7c15ull + b}.next(); }

uint64_t name_hash(const std::string& s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

template <class Fn>
void parallel_rows(int64_t rows, Fn fn) {
    const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), rows));
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int64_t r = t; r < rows; r += threads) fn(r);
        });
    for (auto& th : pool) th.join();
}

struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    enum Kind { Weight, Bias, Ones } kind;
};

std::vector<Entry> flux_layout(const DemoModelOptions& o) {
    const int64_t h = o.hidden;
    std::vector<Entry> e;
    auto lin = [&](const std::string& n, int64_t out, int64_t in, bool bias = true) {
        e.push_back({n + ".weight", {out, in}, Entry::Weight});
        if (bias) e.push_back({n + ".bias", {out}, Entry::Bias});
    };
    lin("img_in", h, 64);
    lin("txt_in", h, std::max<int64_t>(64, h * 4 / 3));
    lin("time_in.in_layer", h, 256);
    lin("time_in.out_layer", h, h);
    lin("vector_in.in_layer", h, 768);
    for (int64_t b = 0; b < o.double_blocks; ++b)
        for (const char* s : {"img", "txt"}) {
            const std::string p = "double_blocks." + std::to_string(b) + "." + s + "_";
            lin(p + "attn.qkv", 3 * h, h);
            lin(p + "attn.proj", h, h);
            lin(p + "mlp.0", 4 * h, h);
            lin(p + "mlp.2", h, 4 * h);
            lin(p + "mod.lin", 6 * h, h);
            e.push_back({p + "attn.norm.query_norm.scale", {128}, Entry::Ones});
            e.push_back({p + "attn.norm.key_norm.scale", {128}, Entry::Ones});
        }
    for (int64_t b = 0; b < o.single_blocks; ++b) {
        const std::string p = "single_blocks." + std::to_string(b) + ".";
        lin(p + "linear1", 7 * h, h);
        lin(p + "linear2", h, 5 * h);
        lin(p + "modulation.lin", 3 * h, h);
        e.push_back({p + "norm.query_norm.scale", {128}, Entry::Ones});
    }
    lin("final_layer.adaLN_modulation.1", 2 * h, h);
    lin("final_layer.linear", 64, h);
    return e;
}

}  // namespace

void structured_weight(int64_t rows, int64_t cols, int64_t rank, uint64_t seed, float* out) {
    rank = std::max<int64_t>(1, std::min({rank, rows, cols}));
    // W = A·B with a power-law spectrum (s_j = j^-0.55), plus 20% noise, plus outlier columns.
    std::vector<float> b(static_cast<size_t>(rank * cols));
    parallel_rows(rank, [&](int64_t j) {
        SplitMix g{mix(seed, 0x5eed0000ull + j)};
        const float s = std::pow(static_cast<float>(j + 1), -0.55f) / std::sqrt(static_cast<float>(cols));
        for (int64_t c = 0; c < cols; ++c) b[j * cols + c] = g.normal() * s;
    });
    std::vector<uint8_t> outlier(cols, 0);
    SplitMix og{mix(seed, 0x0071e5ull)};
    for (int i = 0; i < 4 && i < cols; ++i) outlier[og.next() % cols] = 1;
    // Scale so the structured part has std ~0.02, as in make_fixture.py.
    double energy = 0;
    for (int64_t j = 0; j < rank; ++j) energy += std::pow(static_cast<double>(j + 1), -1.1);
    const float norm = 0.02f / static_cast<float>(std::sqrt(energy));
    parallel_rows(rows, [&](int64_t r) {
        SplitMix g{mix(seed, r)};
        std::vector<float> a(rank);
        for (auto& v : a) v = g.normal();
        float* w = out + r * cols;
        std::fill(w, w + cols, 0.0f);
        for (int64_t j = 0; j < rank; ++j) {
            const float aj = a[j] * norm;
            const float* bj = &b[j * cols];
            for (int64_t c = 0; c < cols; ++c) w[c] += aj * bj[c];
        }
        for (int64_t c = 0; c < cols; ++c) {
            w[c] += 0.004f * g.normal();
            if (outlier[c]) w[c] *= 6.0f;
        }
    });
}

DemoModelSummary write_demo_model(const std::string& path, const DemoModelOptions& o) {
    const auto dt = dtype_from_name(o.dtype);
    if (!dt || (*dt != CTQ_DTYPE_BF16 && *dt != CTQ_DTYPE_F16 && *dt != CTQ_DTYPE_F32))
        throw CtqError("demo-model: --dtype must be BF16, F16 or F32");
    if (o.hidden < 16) throw CtqError("demo-model: --hidden must be at least 16");
    const auto entries = flux_layout(o);
    std::vector<OutputTensor> plan;
    for (const auto& e : entries) plan.push_back({e.name, *dt, e.shape});
    SafetensorsWriter writer(path, plan, {{"modelspec.title", "ctq demo model (synthetic Flux-like weights)"}}, {});
    DemoModelSummary s;
    for (const auto& e : entries) {
        uint64_t n = 1;
        for (auto d : e.shape) n *= static_cast<uint64_t>(d);
        std::vector<float> f(n, 1.0f);
        const uint64_t seed = mix(o.seed, name_hash(e.name));
        if (e.kind == Entry::Weight) structured_weight(e.shape[0], e.shape[1], o.rank, seed, f.data());
        if (e.kind == Entry::Bias) {
            SplitMix g{seed};
            for (auto& v : f) v = 0.01f * g.normal();
        }
        std::vector<uint8_t> bytes(*byte_size(*dt, n));
        from_f32(f.data(), n, *dt, bytes.data());
        writer.write(e.name, bytes.data(), bytes.size());
        ++s.tensors;
        s.parameters += n;
        s.bytes += bytes.size();
    }
    writer.commit();
    return s;
}

}  // namespace ctq
