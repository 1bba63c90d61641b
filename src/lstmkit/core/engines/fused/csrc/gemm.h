// The large matrix products of the kernels (the input product of all steps, the weight gradients
// and dX after the backward loop): ATen's, or oneDNN's matmul where libtorch_cpu exports it.
// The small per-step products of the recurrence use gemm_kernel.h instead.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace lstmkit {

// out = (accumulate ? out : 0) + a @ b.
//   out: [M,N] the product, contiguous
//   a: [M,K], b: [K,N] the factors (transposed views welcome)
//   accumulate: add to out instead of overwriting it
void gemm(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b, bool accumulate);

// Choose the backend of gemm.
//   name: "auto" (oneDNN for float32 products of at least min_rows rows, ATen otherwise) or "aten"
//   min_rows: the fewest rows oneDNN takes (> 0; 0 keeps the current value)
void set_gemm_backend(const std::string& name, int64_t min_rows);

// The backend gemm uses, in words.
std::string gemm_backend();

}  // namespace lstmkit
