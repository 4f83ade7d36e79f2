// Widening of stored weights to F32 on the GPU, the first step of the device pipeline. The CPU
// twin is host/io/convert_dtype (both use half.hpp's element functions, so the bits agree).
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>

namespace ctq::kern {

#ifdef CTQ_HAVE_CUDA
// src: n elements of dtype (F32, F16 or BF16) in device memory; dst: n floats. Enqueued on
// `stream` (a cudaStream_t or nullptr). Throws std::invalid_argument for other dtypes.
void to_f32_cuda(const void* src, ctq_dtype dtype, int64_t n, float* dst, void* stream);
#endif

}  // namespace ctq::kern
