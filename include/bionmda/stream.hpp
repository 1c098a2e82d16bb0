#pragma once
/**
 * @file stream.hpp
 * @brief Forward declaration of cudaStream_t, so public headers need no CUDA include.
 *
 * cudaStream_t is a pointer to an opaque struct; redeclaring the same alias
 * is legal C++ and stays compatible with cuda_runtime.h included later.
 */
struct CUstream_st;
using cudaStream_t = CUstream_st*;
