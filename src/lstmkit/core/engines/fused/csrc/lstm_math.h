// Vectorizable math for the fused LSTM kernels: exp, the activations and their derivatives, and the
// row reductions of layer norm.
//
// exp is written with plain arithmetic and bit operations (Cody-Waite range reduction, the
// Cephes polynomial for float and Pade form for double, 2^n built in the exponent bits) so
// that GCC/Clang vectorize the loops that call it (-O3 -fno-math-errno -fno-trapping-math);
// libm's exp is a call the vectorizer cannot see through. Accuracy: exp within 1.2e-7
// (float) and 3.2e-16 (double) relative; sigmoid within 2e-7 / 4e-16 absolute, tanh too and
// also relatively accurate near 0 (see tanh_).
//
// Activations are named as in lstmkit.core.cells.activations; their derivative is taken from the
// activation's output y, which is what the forward pass saves. The 1997 squashings
// 4 sigmoid(x) - 2 and 2 sigmoid(x) - 1 are computed as 2 tanh(x / 2) and tanh(x / 2): equal,
// without the cancellation near 0 of the sigmoid form.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

// Force inlining: a call the vectorizer cannot see through keeps the loops scalar.
#define LSTMKIT_INLINE inline __attribute__((always_inline))

namespace lstmkit {

static LSTMKIT_INLINE float exp_(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);  // NaN passes through
  const float magic = 12582912.0f;                     // 1.5 * 2^23: rounds to an integer
  float kd = __builtin_fmaf(x, 1.44269504088896341f, magic);
  float n = kd - magic;                                // round(x / ln 2)
  float r = __builtin_fmaf(n, -0.693359375f, x);       // x - n ln2, in two parts
  r = __builtin_fmaf(n, 2.12194440e-4f, r);
  float p = 1.9875691500E-4f;
  p = __builtin_fmaf(p, r, 1.3981999507E-3f);
  p = __builtin_fmaf(p, r, 8.3334519073E-3f);
  p = __builtin_fmaf(p, r, 4.1665795894E-2f);
  p = __builtin_fmaf(p, r, 1.6666665459E-1f);
  p = __builtin_fmaf(p, r, 5.0000001201E-1f);
  p = __builtin_fmaf(p, r * r, r + 1.0f);
  int32_t ki;
  std::memcpy(&ki, &kd, sizeof ki);  // low bits of kd hold n
  int32_t bits = static_cast<int32_t>(static_cast<uint32_t>(ki + 127) << 23);
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return p * s;
}

static LSTMKIT_INLINE double exp_(double x) {
  x = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
  const double magic = 6755399441055744.0;  // 1.5 * 2^52
  double kd = __builtin_fma(x, 1.4426950408889634073599, magic);
  double n = kd - magic;
  double r = __builtin_fma(n, -6.93145751953125E-1, x);
  r = __builtin_fma(n, -1.42860682030941723212E-6, r);
  double xx = r * r;
  double px = __builtin_fma(__builtin_fma(1.26177193074810590878E-4, xx, 3.02994407707441961300E-2), xx,
                            9.99999999999999999910E-1) *
              r;
  double qx = __builtin_fma(
      __builtin_fma(__builtin_fma(3.00198505138664455042E-6, xx, 2.52448340349684104192E-3), xx,
                    2.27265548208155028766E-1),
      xx, 2.00000000000000000009E0);
  double e = 1.0 + 2.0 * (px / (qx - px));
  int64_t ki;
  std::memcpy(&ki, &kd, sizeof ki);
  int64_t bits = static_cast<int64_t>(static_cast<uint64_t>(ki + 1023) << 52);
  double s;
  std::memcpy(&s, &bits, sizeof s);
  return e * s;
}

template <typename T>
static LSTMKIT_INLINE T sigmoid_(T x) {
  return T(1) / (T(1) + exp_(-x));
}

// tanh(x) = 2 / (1 + e^{-2x}) - 1, except near 0, where that form keeps only absolute accuracy
// (1 - e^{-2x} cancels) and the odd Taylor series x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835
// is used instead: below |x| = 0.25 (float) / 0.04 (double) its first omitted term is under
// 1e-8 / 1e-16 of x. Both branches are computed and one selected, so the loops vectorize.
template <typename T>
static LSTMKIT_INLINE T tanh_(T x) {
  const T cut2 = sizeof(T) == 4 ? T(0.0625) : T(0.0016);  // the switch-over |x|, squared
  T x2 = x * x;
  T p = T(62.0 / 2835.0) * x2 + T(-17.0 / 315.0);
  p = p * x2 + T(2.0 / 15.0);
  p = p * x2 + T(-1.0 / 3.0);
  T series = x + x * x2 * p;
  T closed = T(2) / (T(1) + exp_(T(-2) * x)) - T(1);
  return x2 < cut2 ? series : closed;
}

// Activation ids; config.h maps the names of lstmkit.core.cells.activations onto them.
enum Act : int { kTanh = 0, kSigmoid = 1, kIdentity = 2, kHs97G = 3, kHs97H = 4 };

// y = f(x) over n elements (x and y may alias).
template <typename T>
static inline void act_forward(int kind, const T* x, T* y, int64_t n) {
  switch (kind) {
    case kTanh:
      for (int64_t j = 0; j < n; ++j) y[j] = tanh_(x[j]);
      break;
    case kSigmoid:
      for (int64_t j = 0; j < n; ++j) y[j] = sigmoid_(x[j]);
      break;
    case kHs97G:
      for (int64_t j = 0; j < n; ++j) y[j] = T(2) * tanh_(T(0.5) * x[j]);  // 4 sigmoid(x) - 2
      break;
    case kHs97H:
      for (int64_t j = 0; j < n; ++j) y[j] = tanh_(T(0.5) * x[j]);  // 2 sigmoid(x) - 1
      break;
    default:
      if (x != y)
        for (int64_t j = 0; j < n; ++j) y[j] = x[j];
  }
}

// dx = dy * f'(x), with f'(x) written in terms of the output y (dy and dx may alias).
template <typename T>
static inline void act_backward(int kind, const T* y, const T* dy, T* dx, int64_t n) {
  switch (kind) {
    case kTanh:
      for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (T(1) - y[j] * y[j]);
      break;
    case kSigmoid:
      for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (y[j] * (T(1) - y[j]));
      break;
    case kHs97G:
      for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * ((T(4) - y[j] * y[j]) * T(0.25));
      break;
    case kHs97H:
      for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * ((T(1) - y[j] * y[j]) * T(0.5));
      break;
    default:
      if (dx != dy)
        for (int64_t j = 0; j < n; ++j) dx[j] = dy[j];
  }
}

// ------------------------------------------------------------------------------------ rows
// Sum of n values with 16 independent partial sums (vectorizable without -ffast-math).
template <typename T>
static inline T row_sum(const T* x, int64_t n) {
  T acc[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; ++k) acc[k] += x[j + k];
  T s = T(0);
  for (; j < n; ++j) s += x[j];
  for (int k = 0; k < 16; ++k) s += acc[k];
  return s;
}

template <typename T>
static inline T row_dot(const T* x, const T* y, int64_t n) {
  T acc[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; ++k) acc[k] += x[j + k] * y[j + k];
  T s = T(0);
  for (; j < n; ++j) s += x[j] * y[j];
  for (int k = 0; k < 16; ++k) s += acc[k];
  return s;
}

// Mean and 1 / sqrt(biased variance + eps), two passes (as F.layer_norm).
template <typename T>
static inline void row_stats(const T* x, int64_t n, double eps, T& mean, T& rstd) {
  const T mu = row_sum(x, n) / T(n);
  T acc[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; ++k) {
      const T d = x[j + k] - mu;
      acc[k] += d * d;
    }
  T v = T(0);
  for (; j < n; ++j) v += (x[j] - mu) * (x[j] - mu);
  for (int k = 0; k < 16; ++k) v += acc[k];
  mean = mu;
  rstd = T(1) / std::sqrt(v / T(n) + T(eps));
}

// Backward of y = xhat * w (+ b), xhat = (x - mean) * rstd, over one row of n:
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w.
// g: scratch of n (overwritten); xhat given.
template <typename T>
static inline void ln_backward_row(const T* dy, const T* w, const T* xhat, T rstd, T* g, T* dx, int64_t n) {
  for (int64_t j = 0; j < n; ++j) g[j] = dy[j] * w[j];
  const T m1 = row_sum(g, n) / T(n);
  const T m2 = row_dot(g, xhat, n) / T(n);
  for (int64_t j = 0; j < n; ++j) dx[j] = rstd * (g[j] - m1 - xhat[j] * m2);
}

}  // namespace lstmkit
