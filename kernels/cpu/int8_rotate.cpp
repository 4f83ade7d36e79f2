// CPU twin of the ConvRot group Hadamard rotation (see ctq/kernels/hadamard.hpp).
#include <ctq/kernels/hadamard.hpp>
#include <ctq/kernels/parallel.hpp>

#include <stdexcept>
#include <string>

namespace ctq::kern {

void hadamard_rotate_rows_cpu(float* data, int64_t rows, int64_t cols, int64_t group) {
    if (!is_power_of_4(group) || cols % group != 0)
        throw std::invalid_argument("Hadamard group " + std::to_string(group) +
                                    " must be a power of 4 dividing in_features " +
                                    std::to_string(cols));
    const int stages = hadamard_stages(group);
    const int64_t groups = rows * (cols / group);
    parallel_for(groups, group * stages, [&](int64_t b, int64_t e) {
        for (int64_t g = b; g < e; ++g) {
            float* v = data + g * group;
            for (int s = 0; s < stages; ++s)
                for (int64_t j = 0; j < group / 4; ++j) hadamard_stage_butterfly(v, s, j);
        }
    });
}

}  // namespace ctq::kern
