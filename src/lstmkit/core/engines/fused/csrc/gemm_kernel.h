// Small matrix products of the recurrence: a register-blocked micro-kernel over a packed
// right-hand side (the per-step products of a batch, 1 row or many). Written with GCC/Clang vector extensions, so the same code compiles to
// AVX-512, AVX2 or SSE/NEON, whatever the build flags allow.
//
// Why not at::mm / oneDNN here: a recurrent step multiplies a small (N x K) block by the
// same weight matrix L times. Packing that matrix once per sequence into column panels
// (K x NR, contiguous, in the L1 cache while MR rows are computed) lets the kernel run near
// the machine's peak; a general GEMM call re-packs it every step and pays its call overhead.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lstmkit {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
constexpr int kVecRegs = 32;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
constexpr int kVecRegs = 16;
#else
constexpr int kVecBytes = 16;
constexpr int kVecRegs = 16;
#endif

template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
};

template <typename T>
struct Tile {
  using V = typename VecOf<T>::type;
  static constexpr int VL = kVecBytes / static_cast<int>(sizeof(T));  // lanes per vector
  static constexpr int NV = 2;                                         // vectors per tile row
  static constexpr int NR = NV * VL;                                   // tile columns (panel width)
  static constexpr int MR = kVecRegs == 32 ? 8 : 4;                    // tile rows
};

// C[MR x NR] (+)= A[MR x K] (rows lda apart) * B[K x NR] (packed panel).
template <typename T, int MR>
static inline __attribute__((always_inline)) void micro_kernel(int64_t K, const T* __restrict A, int64_t lda,
                                                               const T* __restrict B, T* __restrict C,
                                                               int64_t ldc, bool accumulate) {
  using V = typename Tile<T>::V;
  constexpr int VL = Tile<T>::VL, NV = Tile<T>::NV;
  V c[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (accumulate)
        std::memcpy(&c[i][j], C + i * ldc + j * VL, sizeof(V));
      else
        c[i][j] = V{};
    }
  for (int64_t k = 0; k < K; ++k) {
    V b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) std::memcpy(&b[j], B + k * NV * VL + j * VL, sizeof(V));
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T a = A[i * lda + k];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) c[i][j] += a * b[j];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) std::memcpy(C + i * ldc + j * VL, &c[i][j], sizeof(V));
}

// Elements of the packed B (np panels of K x NR, the last zero-padded).
template <typename T>
static inline int64_t packed_size(int64_t K, int64_t N) {
  constexpr int NR = Tile<T>::NR;
  return (N + NR - 1) / NR * K * NR;
}

// Pack B (K x N), element (k, n) at src[k * sk + n * sn], into column panels.
template <typename T>
static void pack_b(int64_t K, int64_t N, const T* src, int64_t sk, int64_t sn, T* Bp) {
  constexpr int NR = Tile<T>::NR;
  const int64_t np = (N + NR - 1) / NR;
  at::parallel_for(0, np, std::max<int64_t>(1, np / 8), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* dst = Bp + p * K * NR;
      for (int c = 0; c < NR; ++c) {
        const int64_t n = p * NR + c;
        if (n < N) {
          const T* s = src + n * sn;
          for (int64_t k = 0; k < K; ++k) dst[k * NR + c] = s[k * sk];
        } else {
          for (int64_t k = 0; k < K; ++k) dst[k * NR + c] = T(0);
        }
      }
    }
  });
}

// One product term of gemm_packed: A (M x K, rows lda apart) times a packed B (K x N).
template <typename T>
struct Term {
  const T* A;
  int64_t lda;
  const T* Bp;
  int64_t K;
};

// C (M x N, rows ldc apart) (+)= sum of the terms A_i B_i (B_i packed by pack_b), e.g.
// x_t W_ih^T + h_{t-1} W_hh^T in one pass: one parallel region, C loaded and stored once per
// K chunk. Parallel over column panels; small products run on the calling thread.
template <typename T>
static void gemm_packed_terms(int64_t M, int64_t N, const Term<T>* terms, int nterms, T* C, int64_t ldc,
                              bool accumulate) {
  constexpr int NR = Tile<T>::NR, MR = Tile<T>::MR;
  if (M == 0 || N == 0) return;
  const int64_t np = (N + NR - 1) / NR;
  int64_t Ktot = 0;
  for (int i = 0; i < nterms; ++i) Ktot += terms[i].K;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(Ktot);
  const int64_t grain = flops < 3e5 ? np : 1;
  // K in chunks of KC rows so that a chunk of a panel (KC x NR) stays in L1 across row blocks
  constexpr int64_t KC = 32768 / static_cast<int64_t>(NR * sizeof(T));  // 32 KiB of B
  at::parallel_for(0, np, grain, [&](int64_t p0, int64_t p1) {
    alignas(64) T tile[NR];
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n0 = p * NR, ncols = std::min<int64_t>(NR, N - n0);
      bool first = true;
      for (int ti = 0; ti < nterms; ++ti) {
        const Term<T>& term = terms[ti];
        const int64_t K = term.K, lda = term.lda;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
          const int64_t kc = std::min<int64_t>(KC, K - k0);
          const bool acc = accumulate || !first;
          first = false;
          const T* B = term.Bp + p * K * NR + k0 * NR;
          const T* Ak = term.A + k0;
          for (int64_t r0 = 0; r0 < M; r0 += MR) {
            const int64_t rows = std::min<int64_t>(MR, M - r0);
            if (rows == MR && ncols == NR) {
              micro_kernel<T, MR>(kc, Ak + r0 * lda, lda, B, C + r0 * ldc + n0, ldc, acc);
              continue;
            }
            for (int64_t i = 0; i < rows; ++i) {  // edges: one row at a time through a tile
              T* crow = C + (r0 + i) * ldc + n0;
              if (ncols == NR) {
                micro_kernel<T, 1>(kc, Ak + (r0 + i) * lda, lda, B, crow, ldc, acc);
                continue;
              }
              for (int64_t j = 0; j < NR; ++j) tile[j] = (acc && j < ncols) ? crow[j] : T(0);
              micro_kernel<T, 1>(kc, Ak + (r0 + i) * lda, lda, B, tile, NR, acc);
              for (int64_t j = 0; j < ncols; ++j) crow[j] = tile[j];
            }
          }
        }
      }
      if (first && !accumulate)  // no term (K = 0): C = 0
        for (int64_t r = 0; r < M; ++r) std::fill(C + r * ldc + n0, C + r * ldc + n0 + ncols, T(0));
    }
  });
}

// C (M x N, rows ldc apart) (+)= A (M x K, rows lda apart) * B (packed by pack_b).
template <typename T>
static void gemm_packed(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* Bp, T* C, int64_t ldc,
                        bool accumulate) {
  const Term<T> term{A, lda, Bp, K};
  gemm_packed_terms<T>(M, N, &term, 1, C, ldc, accumulate);
}

}  // namespace lstmkit
