// CPU twins of the flip-score kernels (kernels/cuda/flip_score.cu): the element functions of
// ctq/kernels/flip_score.hpp over plain loops, compiled without FMA contraction (CMakeLists.txt).
#include <ctq/kernels/flip_score.hpp>
#include <ctq/kernels/parallel.hpp>

#include <algorithm>
#include <vector>

namespace ctq::kern {

void flip_scores_cpu(const FlipScoreInputs& in, int64_t stride, int64_t count, float budget_left, float* out) {
    parallel_for(count, 1, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            float dfull;
            const float s = flip_score(in, flip_sample_index(j, stride), &dfull);
            out[j] = dfull > budget_left ? 0.0f : s;
        }
    });
}

void flip_scores_at_cpu(const FlipScoreInputs& in, const int64_t* idx, int64_t count, float* out) {
    parallel_for(count, 1, [&](int64_t begin, int64_t end) {
        float dfull;
        for (int64_t j = begin; j < end; ++j) out[j] = flip_score(in, idx[j], &dfull);
    });
}

void flip_rank_keys_cpu(const FlipScoreInputs& in, const int64_t* idx, int64_t count, const int64_t* valid,
                        int64_t* keys) {
    const int64_t real = valid ? std::clamp<int64_t>(*valid, 0, count) : count;
    parallel_for(count, 1, [&](int64_t begin, int64_t end) {
        float dfull;
        for (int64_t j = begin; j < end; ++j)
            keys[j] = j < real ? flip_rank_key(flip_score(in, idx[j], &dfull), idx[j]) : kFlipRankNone;
    });
}

// Each chunk collects its hits, then they are concatenated in chunk order: ascending overall.
int64_t flip_select_cpu(const FlipScoreInputs& in, float cut, float budget_left, int64_t* out, int64_t capacity) {
    const int64_t n = in.rows * in.cols;
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(worker_count(), n >> 18));
    std::vector<std::vector<int64_t>> hits(static_cast<size_t>(chunks));
    parallel_for(chunks, int64_t(1) << 18, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
            auto& h = hits[static_cast<size_t>(c)];
            for (int64_t i = begin; i < end; ++i) {
                float dfull;
                const float s = flip_score(in, i, &dfull);
                if (s <= cut && dfull <= budget_left) h.push_back(i);
            }
        }
    });
    int64_t found = 0;
    for (const auto& h : hits) {
        for (const int64_t i : h) {
            if (found < capacity) out[found] = i;
            ++found;
        }
    }
    return found;
}

}  // namespace ctq::kern
