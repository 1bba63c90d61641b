// The int8 products (qgemm.h): packing, row quantization, the three integer backends and the
// shared float epilogue.

#include "qgemm.h"

#include <ATen/Parallel.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LSTMKIT_X86 1
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace lstmkit {
namespace {

constexpr int kTileRows = 8;  // rows of A per call of a backend's tile

// acc [rows,16] = A [rows, 4 * groups] (u8, rows lda apart) times one packed panel of W (int32).
using TileFn = void (*)(int64_t groups, const uint8_t* A, int64_t lda, int rows, const int8_t* B, int32_t* acc);

// The portable backend: plain loops (the reference the others equal).
void tile_scalar(int64_t groups, const uint8_t* A, int64_t lda, int rows, const int8_t* B, int32_t* acc) {
  for (int i = 0; i < rows; ++i) {
    int32_t c[kQCols] = {};
    const uint8_t* a = A + i * lda;
    for (int64_t g = 0; g < groups; ++g) {
      const int8_t* b = B + g * kQCols * kQDepth;
      for (int64_t col = 0; col < kQCols; ++col)
        for (int64_t j = 0; j < kQDepth; ++j)
          c[col] += static_cast<int32_t>(a[g * kQDepth + j]) * static_cast<int32_t>(b[col * kQDepth + j]);
    }
    std::copy(c, c + kQCols, acc + i * kQCols);
  }
}

#ifdef LSTMKIT_X86
// AVX2: per 4 k values, _mm256_maddubs_epi16 multiplies u8 activations (<= 127) by s8 weights
// (|w| <= 127) and adds pairs into int16 (|sum| <= 32258: no saturation), _mm256_madd_epi16 with
// ones adds those pairs into int32. A panel's 16 columns are two vectors of 8.
template <int ROWS>
__attribute__((target("avx2"))) inline void avx2_rows(int64_t groups, const uint8_t* A, int64_t lda, const int8_t* B,
                                                       int32_t* acc) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i c0[ROWS], c1[ROWS];
  for (int i = 0; i < ROWS; ++i) c0[i] = c1[i] = _mm256_setzero_si256();
  for (int64_t g = 0; g < groups; ++g) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + g * 64));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + g * 64 + 32));
    for (int i = 0; i < ROWS; ++i) {
      int32_t a4;
      std::memcpy(&a4, A + i * lda + g * kQDepth, sizeof a4);
      const __m256i a = _mm256_set1_epi32(a4);
      c0[i] = _mm256_add_epi32(c0[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b0), ones));
      c1[i] = _mm256_add_epi32(c1[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b1), ones));
    }
  }
  for (int i = 0; i < ROWS; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * kQCols), c0[i]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * kQCols + 8), c1[i]);
  }
}

__attribute__((target("avx2"))) void tile_avx2(int64_t groups, const uint8_t* A, int64_t lda, int rows,
                                               const int8_t* B, int32_t* acc) {
  for (int r = 0; r < rows; r += 4) {  // 4 rows x 2 vectors: 8 accumulators of the 16 registers
    const uint8_t* a = A + r * lda;
    int32_t* c = acc + r * kQCols;
    switch (std::min(4, rows - r)) {
      case 4: avx2_rows<4>(groups, a, lda, B, c); break;
      case 3: avx2_rows<3>(groups, a, lda, B, c); break;
      case 2: avx2_rows<2>(groups, a, lda, B, c); break;
      default: avx2_rows<1>(groups, a, lda, B, c);
    }
  }
}

// AVX-512 VNNI: _mm512_dpbusd_epi32 adds the 4 products u8 x s8 of each int32 lane straight into
// int32 (no intermediate saturation); a panel's 16 columns are one vector.
template <int ROWS>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void vnni_rows(int64_t groups, const uint8_t* A,
                                                                              int64_t lda, const int8_t* B,
                                                                              int32_t* acc) {
  __m512i c[ROWS];
  for (int i = 0; i < ROWS; ++i) c[i] = _mm512_setzero_si512();
  for (int64_t g = 0; g < groups; ++g) {
    const __m512i b = _mm512_loadu_si512(B + g * 64);
    for (int i = 0; i < ROWS; ++i) {
      int32_t a4;
      std::memcpy(&a4, A + i * lda + g * kQDepth, sizeof a4);
      c[i] = _mm512_dpbusd_epi32(c[i], _mm512_set1_epi32(a4), b);
    }
  }
  for (int i = 0; i < ROWS; ++i) _mm512_storeu_si512(acc + i * kQCols, c[i]);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tile_vnni(int64_t groups, const uint8_t* A, int64_t lda,
                                                                      int rows, const int8_t* B, int32_t* acc) {
  switch (rows) {
    case 8: vnni_rows<8>(groups, A, lda, B, acc); break;
    case 7: vnni_rows<7>(groups, A, lda, B, acc); break;
    case 6: vnni_rows<6>(groups, A, lda, B, acc); break;
    case 5: vnni_rows<5>(groups, A, lda, B, acc); break;
    case 4: vnni_rows<4>(groups, A, lda, B, acc); break;
    case 3: vnni_rows<3>(groups, A, lda, B, acc); break;
    case 2: vnni_rows<2>(groups, A, lda, B, acc); break;
    default: vnni_rows<1>(groups, A, lda, B, acc);
  }
}
#endif

struct Backend {
  const char* name;
  TileFn fn;
};

bool cpu_has(const std::string& name) {
#ifdef LSTMKIT_X86
  if (name == "avx2") return __builtin_cpu_supports("avx2");
  if (name == "vnni") return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#endif
  return name == "scalar";
}

Backend backend_named(const std::string& name) {
#ifdef LSTMKIT_X86
  if (name == "vnni") return {"vnni", tile_vnni};
  if (name == "avx2") return {"avx2", tile_avx2};
#endif
  (void)name;
  return {"scalar", tile_scalar};
}

Backend best_backend() {
  for (const char* name : {"vnni", "avx2"})
    if (cpu_has(name)) return backend_named(name);
  return backend_named("scalar");
}

std::atomic<int> g_choice{-1};  // index into the backends below; -1: not chosen yet
const char* const kNames[] = {"scalar", "avx2", "vnni"};

Backend current_backend() {
  int choice = g_choice.load();
  if (choice < 0) {
    const std::string best = best_backend().name;
    choice = static_cast<int>(std::find(kNames, kNames + 3, best) - kNames);
    g_choice = choice;
  }
  return backend_named(kNames[choice]);
}

int64_t panels_of(int64_t R) { return (R + kQCols - 1) / kQCols; }

// Every tile of A W^T: fn(first row, rows, panel, acc [rows,16]) after the backend filled acc.
// Parallel over (row chunk, panel) blocks; a chunk's rows stay in L2 while its panels pass.
template <typename F>
void for_each_tile(const uint8_t* A, int64_t M, int64_t K4, const QMatrix& w, const F& fn) {
  const TileFn tile = current_backend().fn;
  const int64_t np = panels_of(w.R), groups = K4 / kQDepth, chunk = 64;
  const int64_t nchunks = (M + chunk - 1) / chunk, blocks = nchunks * np;
  const double work = static_cast<double>(M) * static_cast<double>(w.R) * static_cast<double>(K4);
  const int8_t* packed = w.packed.data_ptr<int8_t>();
  at::parallel_for(0, blocks, work < 1e6 ? blocks : 1, [&](int64_t b0, int64_t b1) {
    alignas(64) int32_t acc[kTileRows * kQCols];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t ch = b / np, p = b % np, end = std::min(M, (ch + 1) * chunk);
      const int8_t* B = packed + p * groups * kQCols * kQDepth;
      for (int64_t r0 = ch * chunk; r0 < end; r0 += kTileRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kTileRows, end - r0));
        tile(groups, A + r0 * K4, K4, rows, B, acc);
        fn(r0, rows, p, acc);
      }
    }
  });
}

}  // namespace

QMatrix pack_qmatrix(const at::Tensor& q_, const at::Tensor& scale_) {
  TORCH_CHECK_VALUE(q_.dim() == 2 && q_.scalar_type() == at::kChar, "int8 weight: expected an int8 (R, K) tensor, got ",
                    q_.scalar_type(), " of shape ", q_.sizes());
  TORCH_CHECK_VALUE(q_.device().is_cpu() && scale_.device().is_cpu(), "int8 weight: CPU tensors only");
  const int64_t R = q_.size(0), K = q_.size(1);
  TORCH_CHECK_VALUE(scale_.dim() == 1 && scale_.size(0) == R && scale_.scalar_type() == at::kFloat,
                    "int8 weight: expected a float32 scale of shape (", R, ",), got ", scale_.scalar_type(), " ",
                    scale_.sizes());
  const at::Tensor q = q_.contiguous(), scale = scale_.contiguous();
  TORCH_CHECK_VALUE(q.numel() == 0 || q.min().item<int8_t>() >= -127, "int8 weight: values must lie in [-127, 127]");
  QMatrix m;
  m.R = R, m.K = K, m.K4 = (K + kQDepth - 1) / kQDepth * kQDepth;
  const int64_t np = panels_of(R), groups = m.K4 / kQDepth;
  m.packed = at::zeros({np * groups * kQCols * kQDepth}, q.options());
  m.colsum = at::zeros({np * kQCols}, q.options().dtype(at::kInt));
  m.scale = at::zeros({np * kQCols}, scale.options());
  const int8_t* src = q.data_ptr<int8_t>();
  int8_t* dst = m.packed.data_ptr<int8_t>();
  int32_t* cs = m.colsum.data_ptr<int32_t>();
  for (int64_t r = 0; r < R; ++r) {
    const int64_t p = r / kQCols, col = r % kQCols;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = k / kQDepth;
      dst[((p * groups + g) * kQCols + col) * kQDepth + k % kQDepth] = src[r * K + k];
      cs[r] += src[r * K + k];
    }
  }
  std::copy(scale.data_ptr<float>(), scale.data_ptr<float>() + R, m.scale.data_ptr<float>());
  return m;
}

void quantize_rows(int64_t M, int64_t K, const float* A, int64_t lda, QRows& out) {
  const int64_t K4 = (K + kQDepth - 1) / kQDepth * kQDepth;
  out.M = M, out.K4 = K4;
  out.q.resize(M * K4);
  out.scale.resize(M);
  out.zp.resize(M);
  at::parallel_for(0, M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, K)), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const float* a = A + m * lda;
      float lo = 0.f, hi = 0.f, probe = 0.f;
      for (int64_t k = 0; k < K; ++k) {
        lo = std::min(lo, a[k]);
        hi = std::max(hi, a[k]);
        probe += a[k] * 0.f;  // NaN if any value is NaN or infinite
      }
      float s = (hi - lo) / 127.f;
      if (!(s > 0.f)) s = 1.f;  // a row of zeros
      const bool finite = probe == 0.f;
      const float inv = finite ? 1.f / s : 0.f;
      const float zp = std::min(127.f, std::max(0.f, std::nearbyint(-lo * inv)));
      uint8_t* q = out.q.data() + m * K4;
      for (int64_t k = 0; k < K; ++k) {
        const float v = std::nearbyint(a[k] * inv) + zp;
        q[k] = static_cast<uint8_t>(std::min(127.f, std::max(0.f, v)));
      }
      std::fill(q + K, q + K4, uint8_t(0));
      out.scale[m] = finite ? s : std::nanf("");  // a non-finite input row gives NaN outputs
      out.zp[m] = static_cast<int32_t>(zp);
    }
  });
}

void qgemm(const QRows& a, const QMatrix& w, float* C, int64_t ldc, bool accumulate) {
  TORCH_CHECK(a.K4 == w.K4, "lstmkit int8: activation rows of ", a.K4, " bytes, weight of ", w.K4);
  const float* sa = a.scale.data();
  const int32_t* zp = a.zp.data();
  const int32_t* colsum = w.colsum.data_ptr<int32_t>();
  const float* sw = w.scale.data_ptr<float>();
  const int64_t R = w.R;
  for_each_tile(a.q.data(), a.M, a.K4, w, [&](int64_t r0, int rows, int64_t p, const int32_t* acc) {
    const int64_t c0 = p * kQCols, ncols = std::min(kQCols, R - c0);
    for (int i = 0; i < rows; ++i) {
      float* crow = C + (r0 + i) * ldc + c0;
      const int32_t z = zp[r0 + i];
      const float s = sa[r0 + i];
      for (int64_t j = 0; j < ncols; ++j) {
        const float v = static_cast<float>(acc[i * kQCols + j] - z * colsum[c0 + j]) * (s * sw[c0 + j]);
        crow[j] = accumulate ? crow[j] + v : v;
      }
    }
  });
}

void qgemm_float(int64_t M, const float* A, int64_t lda, const QMatrix& w, QRows& a, float* C, int64_t ldc,
                 bool accumulate) {
  quantize_rows(M, w.K, A, lda, a);
  qgemm(a, w, C, ldc, accumulate);
}

at::Tensor int8_products(const at::Tensor& a_, const QMatrix& w) {
  TORCH_CHECK_VALUE(a_.dim() == 2 && a_.scalar_type() == at::kByte && a_.size(1) == w.K,
                    "int8_products: expected a uint8 (M, ", w.K, ") tensor, got ", a_.scalar_type(), " ", a_.sizes());
  TORCH_CHECK_VALUE(a_.numel() == 0 || a_.max().item<uint8_t>() <= 127, "int8_products: values must lie in [0, 127]");
  const at::Tensor a = a_.contiguous();
  const int64_t M = a.size(0), K = w.K, K4 = w.K4, R = w.R;
  std::vector<uint8_t> padded(M * K4, 0);
  for (int64_t m = 0; m < M; ++m) std::copy(a.data_ptr<uint8_t>() + m * K, a.data_ptr<uint8_t>() + (m + 1) * K,
                                            padded.data() + m * K4);
  at::Tensor out = at::empty({M, R}, a.options().dtype(at::kInt));
  int32_t* o = out.data_ptr<int32_t>();
  for_each_tile(padded.data(), M, K4, w, [&](int64_t r0, int rows, int64_t p, const int32_t* acc) {
    const int64_t c0 = p * kQCols, ncols = std::min(kQCols, R - c0);
    for (int i = 0; i < rows; ++i) std::copy(acc + i * kQCols, acc + i * kQCols + ncols, o + (r0 + i) * R + c0);
  });
  return out;
}

void set_int8_backend(const std::string& name) {
  if (name == "auto") {
    g_choice = -1;
    return;
  }
  const auto* it = std::find(kNames, kNames + 3, name);
  TORCH_CHECK_VALUE(it != kNames + 3, "int8 backend: expected 'auto', 'vnni', 'avx2' or 'scalar', got '", name, "'");
  TORCH_CHECK_VALUE(cpu_has(name), "int8 backend: this CPU has no ", name);
  g_choice = static_cast<int>(it - kNames);
}

std::string int8_backend() { return current_backend().name; }

}  // namespace lstmkit
