// The torch device a user named (--device), checked before any tensor goes there, so a bad name
// or a CPU-only LibTorch gives one clear line instead of a c10 backtrace.
#pragma once

#include <torch/torch.h>

#include <string>

namespace ctq::engine {

// Throws CtqError "<who>: ..." for an unknown name or a CUDA device this LibTorch cannot use.
torch::Device checked_device(const std::string& name, const std::string& who);

// Makes the first calls of the CUDA libraries the engine uses (cuSOLVER's eigh and Cholesky,
// cuBLAS's FP64/FP32/BF16 GEMMs and triangular solve) on small matrices, so that their handles
// and lazily loaded kernels are ready before the first layer needs them: the first 3072x3072
// eigh of a run otherwise takes ~0.4 s instead of ~0.07 s. Does nothing without a usable device.
void warm_up_cuda(int index) noexcept;

}  // namespace ctq::engine
