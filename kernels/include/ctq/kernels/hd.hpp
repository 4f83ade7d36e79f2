// Marks functions compiled for both the CPU and CUDA, so each numeric core has one definition
// and the CPU twin and the kernel cannot drift apart.
#pragma once

#if defined(__CUDACC__)
#define CTQ_HD __host__ __device__ __forceinline__
#else
#define CTQ_HD inline
#endif
