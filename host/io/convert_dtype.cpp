#include "io/convert_dtype.hpp"

#include "core/error.hpp"

#include <ctq/dtype.hpp>
#include <ctq/kernels/half.hpp>
#include <ctq/kernels/parallel.hpp>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <vector>

namespace ctq {

namespace {

template <typename Stored, float (*Widen)(Stored)>
void widen(const uint8_t* src, uint64_t n, float* dst) {
    for (uint64_t i = 0; i < n; ++i) {
        Stored v;
        std::memcpy(&v, src + i * sizeof(Stored), sizeof(Stored));
        dst[i] = Widen(v);
    }
}

template <typename Stored, Stored (*Narrow)(float)>
void narrow(const float* src, uint64_t n, uint8_t* dst) {
    for (uint64_t i = 0; i < n; ++i) {
        const Stored v = Narrow(src[i]);
        std::memcpy(dst + i * sizeof(Stored), &v, sizeof(Stored));
    }
}

float f32_identity(float v) { return v; }
float f64_to_f32(double v) { return static_cast<float>(v); }  // IEEE round to nearest even

// One row per convertible dtype; a null entry means "no conversion that way".
struct FloatCodec {
    ctq_dtype dtype;
    void (*to_f32)(const uint8_t*, uint64_t, float*);
    void (*from_f32)(const float*, uint64_t, uint8_t*);
};

constexpr FloatCodec kCodecs[] = {
    {CTQ_DTYPE_F32, widen<float, f32_identity>, narrow<float, f32_identity>},
    {CTQ_DTYPE_F16, widen<uint16_t, kern::f16_to_f32>, narrow<uint16_t, kern::f32_to_f16>},
    {CTQ_DTYPE_BF16, widen<uint16_t, kern::bf16_to_f32>, narrow<uint16_t, kern::f32_to_bf16>},
    {CTQ_DTYPE_F64, widen<double, f64_to_f32>, nullptr},
};

const FloatCodec* codec(ctq_dtype d) {
    for (const FloatCodec& c : kCodecs)
        if (c.dtype == d) return &c;
    return nullptr;
}

}  // namespace

void to_f32(const uint8_t* src, ctq_dtype dtype, uint64_t n, float* dst) {
    const FloatCodec* c = codec(dtype);
    if (!c || !c->to_f32) fail("", "", std::string("no conversion from ") + dtype_name(dtype) + " to F32");
    c->to_f32(src, n, dst);
}

void from_f32(const float* src, uint64_t n, ctq_dtype dtype, uint8_t* dst) {
    const FloatCodec* c = codec(dtype);
    if (!c || !c->from_f32) fail("", "", std::string("no conversion from F32 to ") + dtype_name(dtype));
    c->from_f32(src, n, dst);
}

NonFinite find_non_finite(const float* src, uint64_t n) {
    NonFinite r{0, n};
    for (uint64_t i = 0; i < n; ++i) {
        if (std::isfinite(src[i])) continue;
        if (r.count++ == 0) r.first_index = i;
    }
    return r;
}

NonFinite to_f32_checked(const uint8_t* src, ctq_dtype dtype, uint64_t n, float* dst) {
    const uint64_t width = dtype_traits(dtype).bits / 8;
    constexpr int64_t kChunk = 1 << 16;  // elements per task: a few hundred KB, stays in cache
    const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
    std::vector<NonFinite> found(static_cast<size_t>(chunks));
    kern::parallel_for(chunks, kChunk, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const uint64_t first = static_cast<uint64_t>(c) * kChunk;
            const uint64_t count = std::min<uint64_t>(kChunk, n - first);
            to_f32(src + first * width, dtype, count, dst + first);
            found[c] = find_non_finite(dst + first, count);
            found[c].first_index += first;
        }
    });
    NonFinite total{0, n};
    for (const auto& f : found) {
        if (f.count && total.count == 0) total.first_index = f.first_index;
        total.count += f.count;
    }
    return total;
}

}  // namespace ctq
