// int8 matrix products of the quantized (inference-only) path: C = A W^T with W int8 per output
// channel (prepacked once) and A float, quantized per row when the product runs.
//
// Weights: symmetric int8, one scale per row of W (an output channel), values in [-127, 127]
// (never -128). Activations: asymmetric per row, 7 bits: q = clamp(round(a / s) + zp, 0, 127),
// s = (max(a, 0) - min(a, 0)) / 127, so 0 is exact (padding stays exact). 7 bits, as torch's
// fbgemm dynamic quantization (reduce_range), because AVX2's u8 x s8 multiply-add
// (_mm256_maddubs_epi16) adds two products in a saturating int16: 2 * 127 * 127 = 32258 fits,
// 2 * 255 * 127 would not. Every backend therefore computes the same integers:
//   acc[m, r] = sum_k q_a[m, k] q_w[r, k]                         (int32, exact)
//   C[m, r] (+)= float(acc - zp[m] * colsum[r]) * (s_a[m] * s_w[r])   (one shared epilogue)
// Backends (chosen at run time, set_int8_backend forces one): "vnni" (AVX-512 VNNI
// _mm512_dpbusd_epi32, where the CPU has it), "avx2" (maddubs + madd), "scalar" (portable C++).
//
// Sizes: M rows of A, K the reduction, R rows of W (output columns of C).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace lstmkit {

constexpr int64_t kQCols = 16;  // output columns per packed panel
constexpr int64_t kQDepth = 4;  // k values per packed group (one int32 lane of u8 / s8)

// W [R,K] packed once as the right-hand side of A W^T.
//   packed: int8 [panels, K4 / 4, 16, 4]: panel p holds columns 16p .. 16p+15 (zero past R), the
//       4 k values of one group side by side (zero past K)
//   colsum: int32 [panels * 16] sum_k q_w[r, k] (for the activations' zero point)
//   scale: float [panels * 16] s_w[r] (0 past R)
struct QMatrix {
  int64_t R = 0, K = 0, K4 = 0;  // K4: K rounded up to a multiple of 4
  at::Tensor packed, colsum, scale;
  bool defined() const { return packed.defined(); }
};

// Pack q [R,K] int8 (values in [-127, 127]) with its per-row scale [R] float.
QMatrix pack_qmatrix(const at::Tensor& q, const at::Tensor& scale);

// Rows of A quantized (7-bit u8, asymmetric per row), K4 bytes apart (zeros past K).
struct QRows {
  int64_t M = 0, K4 = 0;
  std::vector<uint8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zp;
};

// Quantize M rows of K floats (rows lda apart) into out (its buffers reused).
void quantize_rows(int64_t M, int64_t K, const float* A, int64_t lda, QRows& out);

// C [M,R] (rows ldc apart) (+)= dequantized(a) W^T.
void qgemm(const QRows& a, const QMatrix& w, float* C, int64_t ldc, bool accumulate);

// Quantize A [M,K] and multiply: C (+)= A W^T (a: the workspace for the quantized rows).
void qgemm_float(int64_t M, const float* A, int64_t lda, const QMatrix& w, QRows& a, float* C, int64_t ldc,
                 bool accumulate);

// The int32 products (no rescale, no zero point) of a [M,K] uint8 (values in [0, 127]) with a
// packed W, with the current backend: [M,R] int32 (tests).
at::Tensor int8_products(const at::Tensor& a, const QMatrix& w);

// Choose the backend: "auto" (the best the CPU has), "vnni", "avx2" or "scalar" (a backend the
// CPU lacks is refused).
void set_int8_backend(const std::string& name);

// The backend in use.
std::string int8_backend();

// The quantized weights of one layer and direction (undefined where the cell has none).
struct QLayer {
  QMatrix ih, hh, gh, hr;  // W_ih [GH,I], W_hh [GH,Hout], W_gh [SH,SH] (FGR), W_hr [Hout,H] (projection)
};

}  // namespace lstmkit

namespace lstmkit {

// C (+)= A W^T in int8 for float32 (the kernels' templates instantiate double too, which the
// quantized path refuses before it gets here).
template <typename T>
inline void qproduct(const QMatrix& w, QRows& work, int64_t M, const T* A, int64_t lda, T* C, int64_t ldc,
                     bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    qgemm_float(M, A, lda, w, work, C, ldc, accumulate);
  } else {
    TORCH_CHECK(false, "lstmkit int8: float32 only");
  }
}

}  // namespace lstmkit
