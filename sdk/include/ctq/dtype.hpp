// One table of facts per safetensors dtype, shared by the host and plugins (header-only).
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace ctq {

struct DtypeTraits {
    ctq_dtype dtype;
    const char* name;    // safetensors spelling
    int bits;            // per element; sub-byte types pack, see byte_size()
    bool is_float;       // a real floating type (candidate for quantization when high precision)
    bool is_quantized;   // already a low-precision storage type: never re-quantized
};

inline constexpr DtypeTraits kDtypeTable[CTQ_DTYPE_COUNT] = {
    {CTQ_DTYPE_BOOL, "BOOL", 8, false, false},
    {CTQ_DTYPE_U8, "U8", 8, false, false},
    {CTQ_DTYPE_I8, "I8", 8, false, false},
    {CTQ_DTYPE_I16, "I16", 16, false, false},
    {CTQ_DTYPE_U16, "U16", 16, false, false},
    {CTQ_DTYPE_F16, "F16", 16, true, false},
    {CTQ_DTYPE_BF16, "BF16", 16, true, false},
    {CTQ_DTYPE_I32, "I32", 32, false, false},
    {CTQ_DTYPE_U32, "U32", 32, false, false},
    {CTQ_DTYPE_F32, "F32", 32, true, false},
    {CTQ_DTYPE_F64, "F64", 64, true, false},
    {CTQ_DTYPE_I64, "I64", 64, false, false},
    {CTQ_DTYPE_U64, "U64", 64, false, false},
    {CTQ_DTYPE_C64, "C64", 64, false, false},
    {CTQ_DTYPE_F8_E4M3, "F8_E4M3", 8, true, true},
    {CTQ_DTYPE_F8_E5M2, "F8_E5M2", 8, true, true},
    {CTQ_DTYPE_F8_E8M0, "F8_E8M0", 8, true, true},
    {CTQ_DTYPE_F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, true, true},
    {CTQ_DTYPE_F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, true, true},
    {CTQ_DTYPE_F4, "F4", 4, true, true},
    {CTQ_DTYPE_F6_E2M3, "F6_E2M3", 6, true, true},
    {CTQ_DTYPE_F6_E3M2, "F6_E3M2", 6, true, true},
};

inline const DtypeTraits& dtype_traits(ctq_dtype d) { return kDtypeTable[d]; }
inline const char* dtype_name(int32_t d) {
    return (d >= 0 && d < CTQ_DTYPE_COUNT) ? kDtypeTable[d].name : "?";
}

inline std::optional<ctq_dtype> dtype_from_name(std::string_view name) {
    for (const auto& t : kDtypeTable)
        if (name == t.name) return t.dtype;
    return std::nullopt;
}

// Bytes for n elements. Sub-byte dtypes follow the safetensors rule: n * bits must be a whole
// number of bytes, otherwise the tensor is invalid (returns nullopt). Overflow also nullopt.
inline std::optional<uint64_t> byte_size(ctq_dtype d, uint64_t n) {
    const uint64_t bits = static_cast<uint64_t>(kDtypeTable[d].bits);
    if (n != 0 && n > UINT64_MAX / bits) return std::nullopt;
    const uint64_t total = n * bits;
    if (total % 8 != 0) return std::nullopt;
    return total / 8;
}

}  // namespace ctq
