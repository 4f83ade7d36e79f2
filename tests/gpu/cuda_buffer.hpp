// Device memory for the GPU tests: a buffer that frees itself when a REQUIRE fails, filled from
// the host and read back in one call each.
#pragma once

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#define CUDA_OK(x) REQUIRE((x) == cudaSuccess)

namespace ctq::test {

template <class T>
struct Buffer {
    T* ptr = nullptr;
    size_t n;
    explicit Buffer(size_t count, const T* from = nullptr) : n(count) {
        CUDA_OK(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T)));
        if (from) CUDA_OK(cudaMemcpy(ptr, from, n * sizeof(T), cudaMemcpyHostToDevice));
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { cudaFree(ptr); }
    std::vector<T> host() const {
        std::vector<T> out(n);
        CUDA_OK(cudaMemcpy(out.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
        return out;
    }
};

}  // namespace ctq::test
