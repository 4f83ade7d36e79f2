#include "engine/flip_scores.hpp"

#include "engine/torch_stream.hpp"

#include <ctq/kernels/flip_score.hpp>
#include <ctq/kernels/kth_smallest.hpp>

#include <algorithm>

namespace ctq::engine {

namespace {

kern::FlipScoreInputs inputs_of(const FlipTerms& t) {
    kern::FlipScoreInputs in{};
    in.g = t.g.data_ptr();
    in.g_bf16 = t.g.scalar_type() == torch::kBFloat16;
    in.delta = t.delta.data_ptr<float>();
    in.err = t.err.data_ptr<float>();
    in.row_norm2 = t.row_norm2.data_ptr<float>();
    in.col_norm2 = t.col_norm2.data_ptr<float>();
    in.rows = t.row_norm2.numel();
    in.cols = t.col_norm2.numel();
    in.c_g = static_cast<float>(t.c_g);
    in.c_self = static_cast<float>(t.c_self);
    in.c_full = static_cast<float>(t.c_full);
    return in;
}

bool on_cuda(const torch::Tensor& t) { return on_cuda_kernels(t, "flip scores"); }
bool on_cuda(const FlipTerms& t) { return on_cuda(t.delta); }

}  // namespace

torch::Tensor flip_scores(const FlipTerms& t, int64_t stride, float budget_left) {
    const int64_t count = kern::flip_sample_count(t.delta.numel(), stride);
    auto out = torch::empty({count}, t.delta.options());
    const auto in = inputs_of(t);
    if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
        kern::flip_scores_cuda(in, stride, count, budget_left, out.data_ptr<float>(), torch_stream(out.device()));
#endif
        return out;
    }
    kern::flip_scores_cpu(in, stride, count, budget_left, out.data_ptr<float>());
    return out;
}

torch::Tensor flip_scores_at(const FlipTerms& t, const torch::Tensor& idx) {
    const auto index = idx.contiguous();
    auto out = torch::empty({index.numel()}, t.delta.options());
    const auto in = inputs_of(t);
    if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
        kern::flip_scores_at_cuda(in, index.data_ptr<int64_t>(), index.numel(), out.data_ptr<float>(),
                                  torch_stream(out.device()));
#endif
        return out;
    }
    kern::flip_scores_at_cpu(in, index.data_ptr<int64_t>(), index.numel(), out.data_ptr<float>());
    return out;
}

torch::Tensor flip_rank_keys(const FlipTerms& t, const torch::Tensor& idx, const torch::Tensor& valid) {
    const auto index = idx.contiguous();
    TORCH_CHECK(t.delta.numel() <= (int64_t(1) << 32), "flip rank keys: a layer of at most 2^32 elements");
    TORCH_CHECK(!valid.defined() || (valid.scalar_type() == torch::kInt64 && valid.device() == idx.device()),
                "flip rank keys: the valid count is an int64 scalar on the indices' device");
    auto keys = torch::empty({index.numel()}, index.options());
    const auto in = inputs_of(t);
    const int64_t* count = valid.defined() ? valid.data_ptr<int64_t>() : nullptr;
    if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
        kern::flip_rank_keys_cuda(in, index.data_ptr<int64_t>(), index.numel(), count, keys.data_ptr<int64_t>(),
                                  torch_stream(keys.device()));
#endif
        return keys;
    }
    kern::flip_rank_keys_cpu(in, index.data_ptr<int64_t>(), index.numel(), count, keys.data_ptr<int64_t>());
    return keys;
}

torch::Tensor flip_rank_key_index(const torch::Tensor& keys) { return keys.bitwise_and(int64_t(0xffffffff)); }

FlipPool flip_select(const FlipTerms& t, const torch::Tensor& cut, float budget_left, int64_t slots) {
    const auto in = inputs_of(t);
    const auto long_opts = t.delta.options().dtype(torch::kInt64);
    const auto cut_f32 = cut.to(torch::kFloat32).contiguous();
    FlipPool pool;
    pool.slots = slots;
    pool.idx = torch::empty({slots}, long_opts);
    if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
        pool.found = torch::empty({}, long_opts);
        kern::flip_select_cuda(in, cut_f32.data_ptr<float>(), budget_left, pool.idx.data_ptr<int64_t>(), slots,
                               pool.found.data_ptr<int64_t>(), torch_stream(pool.idx.device()));
#endif
        return pool;
    }
    const int64_t found =
        kern::flip_select_cpu(in, cut_f32.item<float>(), budget_left, pool.idx.data_ptr<int64_t>(), slots);
    pool.found = torch::scalar_tensor(found, long_opts);
    return pool;
}

torch::Tensor kth_smallest(const torch::Tensor& x, int64_t k) {
    const auto v = x.contiguous();
    TORCH_CHECK(v.scalar_type() == torch::kFloat32 && k >= 1 && k <= v.numel(),
                "kth_smallest: F32 input, 1 <= k <= n");
    if (on_cuda(v)) {
        auto out = torch::empty({1}, v.options());
#ifdef CTQ_HAVE_CUDA
        const auto scratch_bytes = static_cast<int64_t>(kern::kth_smallest_scratch_bytes());
        auto scratch = torch::empty({scratch_bytes}, v.options().dtype(torch::kUInt8));
        kern::kth_smallest_cuda(v.data_ptr<float>(), v.numel(), k, out.data_ptr<float>(), scratch.data_ptr(),
                                torch_stream(out.device()));
#endif
        return out;
    }
    return torch::full({1}, kern::kth_smallest_cpu(v.data_ptr<float>(), v.numel(), k), v.options());
}

}  // namespace ctq::engine
