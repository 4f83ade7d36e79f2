// Whole-buffer conversions between the stored float dtypes and float32, bit-for-bit what
// PyTorch's .float() / .to(dtype) do (round to nearest even when narrowing).
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>

namespace ctq {

// src holds n elements of dtype (any alignment). F32, F16, BF16 and F64; CtqError otherwise.
void to_f32(const uint8_t* src, ctq_dtype dtype, uint64_t n, float* dst);

// dst receives n elements of dtype (any alignment). F32, F16 and BF16; CtqError otherwise.
void from_f32(const float* src, uint64_t n, ctq_dtype dtype, uint8_t* dst);

// NaN and +-Inf among n floats. first_index is n when count is 0.
struct NonFinite {
    uint64_t count;
    uint64_t first_index;
};
NonFinite find_non_finite(const float* src, uint64_t n);

// to_f32 and find_non_finite in one parallel pass (the hot path of every quantized layer).
NonFinite to_f32_checked(const uint8_t* src, ctq_dtype dtype, uint64_t n, float* dst);

}  // namespace ctq
