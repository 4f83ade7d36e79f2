// The torch device a user named (--device), checked before any tensor goes there, so a bad name
// or a CPU-only LibTorch gives one clear line instead of a c10 backtrace.
#pragma once

#include <torch/torch.h>

#include <string>

namespace ctq::engine {

// Throws CtqError "<who>: ..." for an unknown name or a CUDA device this LibTorch cannot use.
torch::Device checked_device(const std::string& name, const std::string& who);

}  // namespace ctq::engine
