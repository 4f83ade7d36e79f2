// Scores of the learned-rounding search's flips (host/engine/flip_search.cpp), one element at a
// time: the single definition behind the CPU twins (kernels/cpu/flip_score.cpp) and the CUDA
// kernels (kernels/cuda/flip_score.cu), so both give the same bits and so the same ranking.
//
// With d the move of an element to its other grid neighbour, e its current error, G = U P V^T,
// ru = ||u_row||^2 and rv = ||v_col||^2, flipping it changes
//     ||E||^2  by  dfull = (2e + d) d
//     score    =   c_self d^2 ru rv + c_full dfull + c_g G d
// Why fused: the search used to keep score, dfull and the G-free part of the score as arrays and
// made five passes a round over them; here one pass reads G, d and e (10 bytes an element with
// BF16 G) and writes only what the round keeps.
#pragma once

#include <ctq/kernels/half.hpp>
#include <ctq/kernels/hd.hpp>
#include <ctq/kernels/kth_smallest.hpp>

#include <cstdint>

namespace ctq::kern {

struct FlipScoreInputs {
    const void* g;          // G, row-major [rows x cols]: BF16 bits (uint16_t) when g_bf16, else float
    bool g_bf16;
    const float* delta;     // [rows x cols]
    const float* err;       // [rows x cols]
    const float* row_norm2; // [rows]
    const float* col_norm2; // [cols]
    int64_t rows, cols;
    float c_g, c_self, c_full;
};

// Round-to-nearest float operations that no compiler may fuse into an FMA: __fmul_rn/__fadd_rn on
// the device; on the host kernels/cpu/flip_score.cpp is compiled with -ffp-contract=off.
CTQ_HD float flip_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
CTQ_HD float flip_add(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

CTQ_HD float flip_dfull(float d, float e) { return flip_mul(flip_add(flip_add(e, e), d), d); }

// The score from an element's values (ru, rv: its row's and column's norms), for kernels that
// load several elements at once.
CTQ_HD float flip_score_of(const FlipScoreInputs& in, float d, float e, float g, float ru, float rv, float* dfull) {
    const float self = flip_mul(ru, rv);
    *dfull = flip_dfull(d, e);
    const float t_self = flip_mul(flip_mul(flip_mul(d, d), self), in.c_self);
    const float t_full = flip_mul(*dfull, in.c_full);
    const float t_g = flip_mul(flip_mul(g, d), in.c_g);
    return flip_add(flip_add(t_self, t_full), t_g);
}

CTQ_HD float flip_score(const FlipScoreInputs& in, int64_t i, float* dfull) {
    const float g = in.g_bf16 ? bf16_to_f32(static_cast<const uint16_t*>(in.g)[i]) : static_cast<const float*>(in.g)[i];
    return flip_score_of(in, in.delta[i], in.err[i], g, in.row_norm2[i / in.cols], in.col_norm2[i % in.cols], dfull);
}

// A flip's rank key (flat index i < 2^32): ascending keys order flips by score, ties by index,
// so one sort of the keys ranks a pool of candidates whatever order it was found in. Why: the
// search used to sort the pool's indices, then its scores (stable) and gather: two radix sorts a
// round where one does.
CTQ_HD int64_t flip_rank_key(float score, int64_t i) {
    const int64_t order = static_cast<int64_t>(float_order_key(f32_bits(score))) - (int64_t(1) << 31);
    return order * (int64_t(1) << 32) + i;
}
CTQ_HD int64_t flip_rank_key_index(int64_t key) { return key & 0xffffffffLL; }
// The key of a pool slot that holds no candidate: after every key of a score that is not NaN, and
// naming element 0, so that whatever reads past the candidates reads inside the layer.
constexpr int64_t kFlipRankNone = int64_t(0x7fffffff) << 32;

// The search's sample of a large layer's scores: runs of kFlipSampleRun consecutive elements,
// one run every kFlipSampleRun * stride elements (stride 1: every element). Why runs: the GPU
// reads memory in 32-byte sectors, so single elements stride apart cost a sector each of G,
// delta and e (~100 bytes a sample) where a run of 8 shares them.
constexpr int64_t kFlipSampleRun = 8;
CTQ_HD int64_t flip_sample_index(int64_t j, int64_t stride) {
    return (j / kFlipSampleRun) * kFlipSampleRun * stride + j % kFlipSampleRun;
}
// How many sample elements a layer of n elements has at this stride.
CTQ_HD int64_t flip_sample_count(int64_t n, int64_t stride) {
    const int64_t runs = n / (kFlipSampleRun * stride), rest = n - runs * kFlipSampleRun * stride;
    return runs * kFlipSampleRun + (rest < kFlipSampleRun ? rest : kFlipSampleRun);
}

// Scores of the sample elements i = flip_sample_index(j, stride), j in [0, count): the score, or 0
// where dfull > budget_left.
void flip_scores_cpu(const FlipScoreInputs& in, int64_t stride, int64_t count, float budget_left, float* out);
void flip_scores_cuda(const FlipScoreInputs& in, int64_t stride, int64_t count, float budget_left, float* out,
                      void* stream);
// Scores (unmasked) at flat indices: out[j] = score(idx[j]).
void flip_scores_at_cpu(const FlipScoreInputs& in, const int64_t* idx, int64_t count, float* out);
void flip_scores_at_cuda(const FlipScoreInputs& in, const int64_t* idx, int64_t count, float* out, void* stream);
// Rank keys of a pool of flips: keys[j] = flip_rank_key(score(idx[j]), idx[j]) for j < *valid
// (all j when valid is null), kFlipRankNone past it (idx[j] not read there). valid: a host pointer
// for the CPU twin, a device pointer for CUDA (a count the device wrote, read without a wait).
void flip_rank_keys_cpu(const FlipScoreInputs& in, const int64_t* idx, int64_t count, const int64_t* valid,
                        int64_t* keys);
void flip_rank_keys_cuda(const FlipScoreInputs& in, const int64_t* idx, int64_t count, const int64_t* valid,
                         int64_t* keys, void* stream);
// Every flat index with score <= cut and dfull <= budget_left. CPU: the first min(found, capacity)
// in ascending order, returns found. CUDA: min(found, capacity) of them in no particular order
// (atomics; the caller ranks them by key), found written to *found_device, the cut read from
// *cut_device (where the k-th smallest left it): no wait for the device inside.
int64_t flip_select_cpu(const FlipScoreInputs& in, float cut, float budget_left, int64_t* out, int64_t capacity);
void flip_select_cuda(const FlipScoreInputs& in, const float* cut_device, float budget_left, int64_t* out,
                      int64_t capacity, int64_t* found_device, void* stream);

}  // namespace ctq::kern
