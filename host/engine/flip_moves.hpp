// The search's batch gathers and scatters on torch tensors, by the kernels of
// ctq/kernels/flip_moves.hpp (CUDA kernel or its CPU twin, same bits, and the bits of the LibTorch
// ops they replace): one call each where LibTorch took three to six.
#pragma once

#include <torch/torch.h>

#include <utility>

namespace ctq::engine {

// The moves d = delta[idx] (F32) and their full-error changes (2e + d) d, widened to F64.
std::pair<torch::Tensor, torch::Tensor> gather_moves(const torch::Tensor& idx, const torch::Tensor& delta,
                                                     const torch::Tensor& err);
// (U[idx / cols] * d, V[idx % cols]): the rank-B factors of moving flat elements idx by d, with
// U [rows x k] and V [cols x k] F32 and contiguous.
std::pair<torch::Tensor, torch::Tensor> low_rank_factors(const torch::Tensor& idx, const torch::Tensor& d,
                                                         const torch::Tensor& u, const torch::Tensor& v);
// Takes the flips idx (distinct): err[idx] += delta[idx], delta[idx] = -delta[idx], in place.
void apply_moves(const torch::Tensor& idx, torch::Tensor& err, torch::Tensor& delta);

}  // namespace ctq::engine
