#pragma once
// BIONMDA_HD marks functions shared by the CPU backend and CUDA kernels. It
// expands to __host__ __device__ only when compiled by nvcc, so the same
// header compiles with a plain C++ compiler.
#if defined(__CUDACC__)
#define BIONMDA_HD __host__ __device__ __forceinline__
#else
#define BIONMDA_HD inline
#endif
