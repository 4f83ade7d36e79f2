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

// Widens n elements and counts the non-finite ones in the same pass, branch-free so the compiler
// vectorises it (the per-element isfinite() of find_non_finite cost as much as the widening).
template <typename Stored, float (*Widen)(Stored)>
uint64_t widen_counting(const uint8_t* src, uint64_t n, float* dst) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; ++i) {
        Stored v;
        std::memcpy(&v, src + i * sizeof(Stored), sizeof(Stored));
        const float f = Widen(v);
        dst[i] = f;
        uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        bad += (bits & 0x7f800000u) == 0x7f800000u;
    }
    return bad;
}

// One row per convertible dtype; a null entry means "no conversion that way".
struct FloatCodec {
    ctq_dtype dtype;
    void (*to_f32)(const uint8_t*, uint64_t, float*);
    void (*from_f32)(const float*, uint64_t, uint8_t*);
    uint64_t (*to_f32_counting)(const uint8_t*, uint64_t, float*);  // returns the non-finite count
};

constexpr FloatCodec kCodecs[] = {
    {CTQ_DTYPE_F32, widen<float, f32_identity>, narrow<float, f32_identity>, widen_counting<float, f32_identity>},
    {CTQ_DTYPE_F16, widen<uint16_t, kern::f16_to_f32>, narrow<uint16_t, kern::f32_to_f16>,
     widen_counting<uint16_t, kern::f16_to_f32>},
    {CTQ_DTYPE_BF16, widen<uint16_t, kern::bf16_to_f32>, narrow<uint16_t, kern::f32_to_bf16>,
     widen_counting<uint16_t, kern::bf16_to_f32>},
    {CTQ_DTYPE_F64, widen<double, f64_to_f32>, nullptr, widen_counting<double, f64_to_f32>},
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
    const FloatCodec* codec_row = codec(dtype);
    if (!codec_row) fail("", "", std::string("no conversion from ") + dtype_name(dtype) + " to F32");
    constexpr int64_t kChunk = 1 << 16;  // elements per task: a few hundred KB, stays in cache
    const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
    std::vector<uint64_t> bad(static_cast<size_t>(chunks));
    kern::parallel_for(chunks, kChunk, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const uint64_t first = static_cast<uint64_t>(c) * kChunk;
            bad[c] = codec_row->to_f32_counting(src + first * width, std::min<uint64_t>(kChunk, n - first), dst + first);
        }
    });
    NonFinite total{0, n};
    for (int64_t c = 0; c < chunks; ++c) {
        if (bad[c] && total.count == 0) {
            const uint64_t first = static_cast<uint64_t>(c) * kChunk;
            total.first_index = first + find_non_finite(dst + first, std::min<uint64_t>(kChunk, n - first)).first_index;
        }
        total.count += bad[c];
    }
    return total;
}

}  // namespace ctq
