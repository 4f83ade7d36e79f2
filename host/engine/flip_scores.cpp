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

torch::Tensor flip_rank_keys(const FlipTerms& t, const torch::Tensor& idx) {
    const auto index = idx.contiguous();
    TORCH_CHECK(t.delta.numel() <= (int64_t(1) << 32), "flip rank keys: a layer of at most 2^32 elements");
    auto keys = torch::empty({index.numel()}, index.options());
    const auto in = inputs_of(t);
    if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
        kern::flip_rank_keys_cuda(in, index.data_ptr<int64_t>(), index.numel(), keys.data_ptr<int64_t>(),
                                  torch_stream(keys.device()));
#endif
        return keys;
    }
    kern::flip_rank_keys_cpu(in, index.data_ptr<int64_t>(), index.numel(), keys.data_ptr<int64_t>());
    return keys;
}

torch::Tensor flip_rank_key_index(const torch::Tensor& keys) { return keys.bitwise_and(int64_t(0xffffffff)); }

torch::Tensor flip_select(const FlipTerms& t, float cut, float budget_left, int64_t expected) {
    const auto in = inputs_of(t);
    const auto long_opts = t.delta.options().dtype(torch::kInt64);
    for (int64_t capacity = std::max<int64_t>(expected, 1024);;) {
        auto out = torch::empty({capacity}, long_opts);
        int64_t found = 0;
        if (on_cuda(t)) {
#ifdef CTQ_HAVE_CUDA
            auto count = torch::empty({1}, long_opts);
            kern::flip_select_cuda(in, cut, budget_left, out.data_ptr<int64_t>(), capacity, count.data_ptr<int64_t>(),
                                   torch_stream(out.device()));
            found = static_cast<int64_t>(fetch({count})[0]);
            if (found <= capacity) return out.narrow(0, 0, found);
#endif
        } else {
            found = kern::flip_select_cpu(in, cut, budget_left, out.data_ptr<int64_t>(), capacity);
            if (found <= capacity) return out.narrow(0, 0, found);
        }
        capacity = found;
    }
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
