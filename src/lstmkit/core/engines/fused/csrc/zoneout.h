// Zoneout: s_out = keep * s_prev + (1 - keep) * s_new for h and c (lstmkit.core.regularizers.zoneout),
// with keep weights given as a tensor, one constant, or drawn in the kernel from a counter-based
// hash (so that the backward pass redraws them instead of storing a mask).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensors.h"

namespace lstmkit {

// murmur3's 32-bit finalizer: a bijection with full avalanche (vectorizes: 32-bit lanes).
static inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

// Zoneout keep weights: none (0), one constant (1, evaluation), a (L, N, D) tensor (2), or
// Bernoulli(z) draws made in the kernel (3, training): keep(i) = [u(i) < z] with the uniform
// 32-bit u(i) = fmix32(fmix32(i ^ k1) ^ k2) of the element's index i = (t N + n) D + j and a
// seed (k1, k2) drawn from torch's generator.
template <typename T>
struct Keep {
  int mode = 0;
  T value = T(0);
  const T* data = nullptr;
  uint32_t k1 = 0, k2 = 0, threshold = 0;
  int64_t N = 0, D = 0;
  // the row of keep weights of step t, batch row n (scratch: D elements, used by mode 3)
  const T* row(int64_t t, int64_t n, T* scratch) const {
    if (mode == 2) return data + (t * N + n) * D;
    const uint32_t base = static_cast<uint32_t>((t * N + n) * D);
    const uint32_t a = k1, b = k2, thr = threshold;
    for (int64_t j = 0; j < D; ++j)
      scratch[j] = fmix32(fmix32((base + static_cast<uint32_t>(j)) ^ a) ^ b) < thr ? T(1) : T(0);
    return scratch;
  }
};

// The keep weights of a state of D features: the tensor k if defined, else drawn for
// probability z from seed (k1, k2) when seed is given and z > 0, else none.
template <typename T>
static Keep<T> make_keep(const Tensor& k, int64_t N, int64_t D, double z, const int64_t* seed) {
  Keep<T> out;
  out.N = N;
  out.D = D;
  if (!k.defined()) {
    if (seed && z > 0) {
      out.mode = 3;
      out.k1 = static_cast<uint32_t>(seed[0]);
      out.k2 = static_cast<uint32_t>(seed[1]);
      out.threshold = static_cast<uint32_t>(std::min(z * 4294967296.0, 4294967295.0));
    }
    return out;
  }
  if (is_constant(k)) {
    out.mode = 1;
    out.value = k.reshape({-1})[0].item<T>();
  } else {
    out.mode = 2;
    out.data = k.data_ptr<T>();
  }
  return out;
}

// The keep weights of h (D = Hout) and of c (D = H): the masks' keep_h / keep_c, or the draws of
// the config's zoneout probabilities and seeds.
template <typename T>
struct StateKeeps {
  Keep<T> h, c;
  StateKeeps(const Masks& m, int64_t N, int64_t Hout, int64_t H, double zh, double zc,
             const std::vector<int64_t>& seeds) {
    const int64_t* sd = seeds.size() == 4 ? seeds.data() : nullptr;
    h = make_keep<T>(m.keep_h, N, Hout, zh, sd);
    c = make_keep<T>(m.keep_c, N, H, zc, sd ? sd + 2 : nullptr);
  }
};

// out = keep * prev + (1 - keep) * nw over a row of D (out = nw without keep weights; out may
// alias prev or nw). scratch: D elements for drawn weights.
template <typename T>
static inline void zone_row(const Keep<T>& k, int64_t t, int64_t n, const T* prev, const T* nw, T* out, int64_t D,
                            T* scratch) {
  if (k.mode == 0) {
    if (out != nw) std::copy(nw, nw + D, out);
  } else if (k.mode == 1) {
    const T kv = k.value, kn = T(1) - k.value;
    for (int64_t j = 0; j < D; ++j) out[j] = kv * prev[j] + kn * nw[j];
  } else {
    const T* kr = k.row(t, n, scratch);
    for (int64_t j = 0; j < D; ++j) out[j] = kr[j] * prev[j] + (T(1) - kr[j]) * nw[j];
  }
}

// Backward of zone_row: d (D, the gradient reaching out) splits into d_new = (1 - keep) * d (to the
// step's new state) and d = keep * d (straight to the previous state).
template <typename T>
static inline void zone_row_backward(const Keep<T>& k, int64_t t, int64_t n, T* d, T* d_new, int64_t D, T* scratch) {
  if (k.mode == 1) {
    const T kv = k.value, kn = T(1) - k.value;
    for (int64_t j = 0; j < D; ++j) d_new[j] = kn * d[j], d[j] = kv * d[j];
  } else if (k.mode >= 2) {
    const T* kr = k.row(t, n, scratch);
    for (int64_t j = 0; j < D; ++j) d_new[j] = (T(1) - kr[j]) * d[j], d[j] = kr[j] * d[j];
  } else {
    std::copy(d, d + D, d_new);
    std::fill(d, d + D, T(0));
  }
}

// The keep weights the kernels draw (Python: binding.zoneout_keep_of_seeds).
//   L, N, D: the shape of the weights, steps x batch rows x features
//   z: the zoneout probability, P(keep = 1)
//   seed: 2 integers, the keys (k1, k2) of the draws (KernelConfig.seeds[0:2] for h, [2:4] for c)
//   dtype: float32 or float64
// Returns [L,N,D] keep weights, 0 or 1.
inline Tensor zoneout_keep(int64_t L, int64_t N, int64_t D, double z, const std::vector<int64_t>& seed,
                           at::ScalarType dtype) {
  TORCH_CHECK(seed.size() == 2, "zoneout_keep: seed must be 2 integers");
  Tensor out = at::empty({L, N, D}, at::TensorOptions().dtype(dtype));
  AT_DISPATCH_FLOATING_TYPES(dtype, "lstmkit_keep", [&] {
    const Keep<scalar_t> k = make_keep<scalar_t>(Tensor(), N, D, z, seed.data());
    scalar_t* o = out.data_ptr<scalar_t>();
    for (int64_t t = 0; t < L; ++t)
      for (int64_t n = 0; n < N; ++n) k.row(t, n, o + (t * N + n) * D);
  });
  return out;
}

}  // namespace lstmkit
