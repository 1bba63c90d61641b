// Fused forward, hand-written backward through time and streaming step for the LSTM family.
//
// Shape of the work (as cuDNN and haste do it):
//   forward:  P = X W_ih^T for all steps in one matrix product; per step one recurrent product
//             (accumulated into P_t), then all pointwise gate math of the step in one pass over
//             each batch row; gate activations saved once.
//   backward: per step one pointwise pass and the product dZ_t W_hh for dh_{t-1}; the weight
//             gradients dW_ih, dW_hh, dW_hr, dW_gh and dX are large products after the loop;
//             bias, peephole and layer-norm gradients are accumulated per thread in the loop.
// The math is lstmkit.cells.lstm.lstm_step (the reference) with the runner's semantics:
// padded steps (mask false) keep the state and output 0; reverse walks t = L-1 .. 0; zoneout
// mixes s = keep * s_prev + (1 - keep) * s_new for h and c. Layout: time-major (L, N, *).
//
// Naming: L steps, N batch, I input size, H hidden size, Hout = proj_size or H, G gate blocks,
// S sigmoid gates (FGR state blocks), GH = G * H, SH = S * H.

#include <torch/extension.h>

#include <ATen/Parallel.h>
#include <dlfcn.h>
#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#elif __has_include(<torch/version.h>)
#include <torch/version.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "gemm_kernel.h"
#include "lstm_math.h"

namespace lstmkit {

using at::Tensor;
using OptTensor = c10::optional<Tensor>;

// ------------------------------------------------------------------------------------ GEMM
// at::native::mkldnn_matmul (oneDNN) is exported by libtorch_cpu without a public header. On
// CPUs where MKL takes a slower code path (e.g. AMD) it is about twice as fast as at::mm for
// float32. It is looked up at run time: a torch without it, or a call that throws, falls back
// to at::mm for the rest of the process.
using DnnMatmul = void (*)(const Tensor&, const Tensor&, const Tensor&, float, float);

static DnnMatmul resolve_dnn_matmul() {
#if !defined(TORCH_VERSION_MAJOR) || TORCH_VERSION_MAJOR != 2 || TORCH_VERSION_MINOR != 13
  return nullptr;  // an internal function: only used with the torch it was checked against
#endif
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&at::globalContext), &info) || !info.dli_fname) return nullptr;
  void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  void* sym = dlsym(handle, "_ZN2at6native13mkldnn_matmulERKNS_6TensorES3_S3_ff");
  return reinterpret_cast<DnnMatmul>(sym);
}

static DnnMatmul g_dnn = resolve_dnn_matmul();
static std::atomic<bool> g_dnn_enabled{true};
static std::atomic<int64_t> g_dnn_min_rows{8};

// out = (accumulate ? out : 0) + a @ b, with a (M, K), b (K, N) (transposed views welcome).
static void gemm(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
  if (out.numel() == 0) return;
  if (a.size(1) == 0) {
    if (!accumulate) out.zero_();
    return;
  }
  if (g_dnn && g_dnn_enabled.load() && out.scalar_type() == at::kFloat && a.size(0) >= g_dnn_min_rows.load() &&
      at::globalContext().userEnabledMkldnn()) {
    try {
      g_dnn(a, b, out, accumulate ? 1.f : 0.f, 1.f);
      return;
    } catch (const std::exception&) {
      g_dnn_enabled = false;  // unsupported here: use ATen from now on
    }
  }
  Tensor o = out;
  if (accumulate)
    o.addmm_(a, b);
  else
    at::mm_out(o, a, b);
}

// ------------------------------------------------------------------------------------ spec
struct Cfg {
  bool ig, fg, og, coupled, peep, fgr, ln, reverse;
  int act_g, act_h;
  double eps;
  int64_t H = 0, Hout = 0, G = 0, S = 0, GH = 0, SH = 0;
  int bi = -1, bf = -1, bg = -1, bo = -1;  // gate block in z / ACT (i, f, g, o order)
  int si = -1, sf = -1, so = -1;           // block in the FGR state and row of w_ch
};

// flags: input_gate, forget_gate, output_gate, coupled, peepholes, fgr, layer_norm, act_g, act_h,
// reverse (see lstmkit/engine/fused.py: _flags).
static Cfg make_cfg(const std::vector<int64_t>& flags, double eps, int64_t H, int64_t Hout) {
  TORCH_CHECK(flags.size() == 10, "lstmkit fused: expected 10 flags, got ", flags.size());
  Cfg c;
  c.ig = flags[0];
  c.fg = flags[1];
  c.og = flags[2];
  c.coupled = flags[3];
  c.peep = flags[4];
  c.fgr = flags[5];
  c.ln = flags[6];
  c.act_g = static_cast<int>(flags[7]);
  c.act_h = static_cast<int>(flags[8]);
  c.reverse = flags[9];
  c.eps = eps;
  int b = 0, s = 0;
  if (c.ig) c.bi = b++, c.si = s++;
  if (c.fg && !c.coupled) c.bf = b++, c.sf = s++;
  c.bg = b++;
  if (c.og) c.bo = b++, c.so = s++;
  c.G = b;
  c.S = s;
  c.H = H;
  c.Hout = Hout;
  c.GH = c.G * H;
  c.SH = c.S * H;
  return c;
}

template <typename T>
static const T* ptr(const OptTensor& t) {
  return (t.has_value() && t->defined()) ? t->data_ptr<T>() : nullptr;
}

static bool has(const OptTensor& t) { return t.has_value() && t->defined(); }

static Tensor contig(const OptTensor& t) { return has(t) ? t->contiguous() : Tensor(); }

template <typename T>
static const T* ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

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
// seed (k1, k2) drawn from torch's generator. The backward pass recomputes the same draws, so
// no mask is stored.
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
  bool constant = true;
  for (int64_t d = 0; d < k.dim(); ++d) constant = constant && (k.stride(d) == 0 || k.size(d) == 1);
  if (constant) {
    out.mode = 1;
    out.value = k.reshape({-1})[0].item<T>();
  } else {
    out.mode = 2;
    out.data = k.data_ptr<T>();
  }
  return out;
}

// s_out = keep * s_prev + (1 - keep) * s_new (lstmkit.nn.regularizers.zoneout), row of D.
template <typename T>
static inline void zone_row(const Keep<T>& k, int64_t t, int64_t n, const T* prev, const T* nw, T* out, int64_t D,
                            T* scratch) {
  if (k.mode == 1) {
    const T kv = k.value, kn = T(1) - k.value;
    for (int64_t j = 0; j < D; ++j) out[j] = kv * prev[j] + kn * nw[j];
  } else {
    const T* kr = k.row(t, n, scratch);
    for (int64_t j = 0; j < D; ++j) out[j] = kr[j] * prev[j] + (T(1) - kr[j]) * nw[j];
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

template <typename T>
struct Params {
  const T* b1 = nullptr;  // bias_ih (or a combined bias)
  const T* b2 = nullptr;  // bias_hh
  const T* w_ch = nullptr;
  const T* ln_ih = nullptr;
  const T* ln_hh = nullptr;
  const T* ln_cw = nullptr;
  const T* ln_cb = nullptr;
};

// The gate math of one row: pre-activations z (GH, raw x-product [+ h-product when not layer
// normalized], modified in place), rec (GH, raw h-product, layer norm only), fg (SH, FGR
// product), c_prev (H). Writes the activations act (GH), c_new (H), r = o * phi(c) (H) and
// the layer-norm statistics (mean/rstd of x-product, h-product, cell). With layer norm the
// normalized sum goes to zs (GH; may be z itself, or a scratch row to keep z).
template <typename T>
static void gates_row(const Cfg& c, const Params<T>& p, T* z, const T* rec, const T* fg, const T* cp, T* act,
                      T* cnew, T* r, T* stats, T* zs) {
  const int64_t H = c.H, GH = c.GH;
  if (c.ln) {
    T mp, rp, mr, rr;
    row_stats(z, GH, c.eps, mp, rp);
    row_stats(rec, GH, c.eps, mr, rr);
    const T* wi = p.ln_ih;
    const T* wh = p.ln_hh;
    for (int64_t j = 0; j < GH; ++j) zs[j] = (z[j] - mp) * rp * wi[j] + (rec[j] - mr) * rr * wh[j];
    stats[0] = mp, stats[1] = rp, stats[2] = mr, stats[3] = rr;
    z = zs;
  }
  if (p.b1)
    for (int64_t j = 0; j < GH; ++j) z[j] += p.b1[j];
  if (p.b2)
    for (int64_t j = 0; j < GH; ++j) z[j] += p.b2[j];
  if (c.fgr) {
    const int blocks[3] = {c.bi, c.bf, c.bo};
    const int sblocks[3] = {c.si, c.sf, c.so};
    for (int k = 0; k < 3; ++k) {
      if (blocks[k] < 0) continue;
      T* zb = z + blocks[k] * H;
      const T* fb = fg + sblocks[k] * H;
      for (int64_t j = 0; j < H; ++j) zb[j] += fb[j];
    }
  }
  T* ai = c.ig ? act + c.bi * H : nullptr;
  T* af = c.bf >= 0 ? act + c.bf * H : nullptr;
  T* ag = act + c.bg * H;
  T* ao = c.og ? act + c.bo * H : nullptr;
  if (ai) {
    const T* zi = z + c.bi * H;
    if (c.peep) {
      const T* w = p.w_ch + c.si * H;
      for (int64_t j = 0; j < H; ++j) ai[j] = sigmoid_(zi[j] + w[j] * cp[j]);
    } else {
      for (int64_t j = 0; j < H; ++j) ai[j] = sigmoid_(zi[j]);
    }
  }
  if (af) {
    const T* zf = z + c.bf * H;
    if (c.peep) {
      const T* w = p.w_ch + c.sf * H;
      for (int64_t j = 0; j < H; ++j) af[j] = sigmoid_(zf[j] + w[j] * cp[j]);
    } else {
      for (int64_t j = 0; j < H; ++j) af[j] = sigmoid_(zf[j]);
    }
  }
  act_forward(c.act_g, z + c.bg * H, ag, H);
  if (!c.fg) {
    if (ai)
      for (int64_t j = 0; j < H; ++j) cnew[j] = cp[j] + ai[j] * ag[j];
    else
      for (int64_t j = 0; j < H; ++j) cnew[j] = cp[j] + ag[j];
  } else if (c.coupled) {
    for (int64_t j = 0; j < H; ++j) cnew[j] = (T(1) - ai[j]) * cp[j] + ai[j] * ag[j];
  } else if (ai) {
    for (int64_t j = 0; j < H; ++j) cnew[j] = af[j] * cp[j] + ai[j] * ag[j];
  } else {
    for (int64_t j = 0; j < H; ++j) cnew[j] = af[j] * cp[j] + ag[j];
  }
  if (ao) {
    const T* zo = z + c.bo * H;
    if (c.peep) {
      const T* w = p.w_ch + c.so * H;
      for (int64_t j = 0; j < H; ++j) ao[j] = sigmoid_(zo[j] + w[j] * cnew[j]);
    } else {
      for (int64_t j = 0; j < H; ++j) ao[j] = sigmoid_(zo[j]);
    }
  }
  const T* cin = cnew;
  if (c.ln) {
    T mc, rc;
    row_stats(cnew, H, c.eps, mc, rc);
    for (int64_t j = 0; j < H; ++j) r[j] = (cnew[j] - mc) * rc * p.ln_cw[j] + p.ln_cb[j];
    stats[4] = mc, stats[5] = rc;
    cin = r;
  }
  act_forward(c.act_h, cin, r, H);
  if (ao)
    for (int64_t j = 0; j < H; ++j) r[j] *= ao[j];
}

// FGR state of a row: the sigmoid gates' activations side by side.
template <typename T>
static inline void gates_state_row(const Cfg& c, const T* act, T* a) {
  const int blocks[3] = {c.bi, c.bf, c.bo};
  const int sblocks[3] = {c.si, c.sf, c.so};
  for (int k = 0; k < 3; ++k)
    if (blocks[k] >= 0) std::copy(act + blocks[k] * c.H, act + (blocks[k] + 1) * c.H, a + sblocks[k] * c.H);
}

static int64_t row_grain(int64_t row_elems) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_elems)); }

// ------------------------------------------------------------------------------------ forward
template <typename T>
static std::vector<Tensor> forward_impl(const Cfg& c, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                        const Tensor& a0, const Tensor& w_ih, const Tensor& w_hh,
                                        const Params<T>& p, const Tensor& w_gh, const Tensor& w_hr,
                                        const Tensor& h_mask, const Tensor& keep_h, const Tensor& keep_c,
                                        const Tensor& mask, const std::vector<double>& zone,
                                        const std::vector<int64_t>& seeds, bool save, bool need_states) {
  const int64_t L = x.size(0), N = x.size(1), I = x.size(2);
  const int64_t H = c.H, Hout = c.Hout, GH = c.GH, SH = c.SH;
  const bool proj = w_hr.defined();
  const auto opt = x.options();
  const bool full = save || need_states;  // keep every step's c (and FGR gates)

  // The input product. Per step, together with the recurrent product, into a (N, GH) buffer
  // (the same packed kernel; no (L, N, GH) buffer to allocate, write and read back), unless
  // layer norm keeps it for the backward pass or the batch is so small that every step would
  // re-read W_ih for a few rows: then all steps in one product P (L, N, GH).
  const bool whole = c.ln || N < 8;
  Tensor P = at::empty({whole ? L : 1, N, GH}, opt);
  if (whole) gemm(P.view({L * N, GH}), x.view({L * N, I}), w_ih.t(), false);
  Tensor Bih = whole ? Tensor() : at::empty({packed_size<T>(I, GH)}, opt);
  if (!whole) pack_b<T>(I, GH, w_ih.data_ptr<T>(), 1, I, Bih.data_ptr<T>());  // W_ih^T
  const T* Xp = x.data_ptr<T>();

  Tensor Hbuf = at::empty({L + 1, N, Hout}, opt);
  Tensor Cbuf = at::empty({full ? L + 1 : 2, N, H}, opt);
  Tensor Abuf = c.fgr ? at::empty({full ? L + 1 : 2, N, SH}, opt) : Tensor();
  Tensor ACT = at::empty({save ? L : 1, N, GH}, opt);
  Tensor STATS = c.ln ? at::empty({save ? L : 1, N, 6}, opt) : Tensor();
  Tensor Y = mask.defined() ? at::zeros({L, N, Hout}, opt) : Tensor();
  // layer norm keeps the raw products for the backward pass (x-product P, h-product REC)
  Tensor REC = c.ln ? at::empty({save ? L : 1, N, GH}, opt) : Tensor();
  Tensor FG = c.fgr ? at::empty({N, SH}, opt) : Tensor();
  Tensor HM = h_mask.defined() ? at::empty({N, Hout}, opt) : Tensor();
  // the weights of the per-step products, packed once for the whole sequence
  Tensor Bhh = at::empty({packed_size<T>(Hout, GH)}, opt);
  pack_b<T>(Hout, GH, w_hh.data_ptr<T>(), 1, Hout, Bhh.data_ptr<T>());  // W_hh^T
  Tensor Bgh = c.fgr ? at::empty({packed_size<T>(SH, SH)}, opt) : Tensor();
  if (c.fgr) pack_b<T>(SH, SH, w_gh.data_ptr<T>(), 1, SH, Bgh.data_ptr<T>());  // W_gh^T
  Tensor Bhr = proj ? at::empty({packed_size<T>(H, Hout)}, opt) : Tensor();
  if (proj) pack_b<T>(H, Hout, w_hr.data_ptr<T>(), 1, H, Bhr.data_ptr<T>());  // W_hr^T
  const T* hmask = h_mask.defined() ? h_mask.data_ptr<T>() : nullptr;
  Tensor CN = at::empty({N, H}, opt);
  Tensor R = at::empty({N, H}, opt);
  Tensor HN = proj ? at::empty({N, Hout}, opt) : Tensor();

  auto hslot = [&](int64_t t, bool after) -> int64_t { return c.reverse ? (after ? t : t + 1) : (after ? t + 1 : t); };
  auto cslot = [&](int64_t s, int64_t t, bool after) -> int64_t {
    return full ? hslot(t, after) : (after ? (s + 1) % 2 : s % 2);
  };
  Hbuf[c.reverse ? L : 0].copy_(h0);
  Cbuf[full && c.reverse ? L : 0].copy_(c0);
  if (c.fgr) Abuf[full && c.reverse ? L : 0].copy_(a0);

  const int64_t* sd = seeds.size() == 4 ? seeds.data() : nullptr;
  const Keep<T> kh = make_keep<T>(keep_h, N, Hout, zone[0], sd), kc = make_keep<T>(keep_c, N, H, zone[1], sd ? sd + 2 : nullptr);
  const int64_t kw = std::max(H, Hout);  // keep-row scratch
  const bool* mk = mask.defined() ? mask.data_ptr<bool>() : nullptr;
  const bool c_direct = !mk && kc.mode == 0;             // c_new is the state
  const bool h_direct = !mk && kh.mode == 0 && !proj;  // r is the state h
  T* Pp = P.data_ptr<T>();
  T* Hp = Hbuf.data_ptr<T>();
  T* Cp = Cbuf.data_ptr<T>();
  T* Ap = c.fgr ? Abuf.data_ptr<T>() : nullptr;
  T* ACTp = ACT.data_ptr<T>();
  T* STp = c.ln ? STATS.data_ptr<T>() : nullptr;
  T* Yp = Y.defined() ? Y.data_ptr<T>() : nullptr;
  T* RECp = c.ln ? REC.data_ptr<T>() : nullptr;
  const T* FGp = c.fgr ? FG.data_ptr<T>() : nullptr;
  T* CNp = CN.data_ptr<T>();
  T* Rp = R.data_ptr<T>();
  const T* HNp = proj ? HN.data_ptr<T>() : nullptr;
  const int64_t grain = row_grain(GH);

  for (int64_t s = 0; s < L; ++s) {
    const int64_t t = c.reverse ? L - 1 - s : s;
    const int64_t hp = hslot(t, false), ha = hslot(t, true);
    const int64_t cp = cslot(s, t, false), ca = cslot(s, t, true);
    const T* h_in = Hp + hp * N * Hout;
    if (hmask) {
      T* hm = HM.data_ptr<T>();
      for (int64_t e = 0; e < N * Hout; ++e) hm[e] = h_in[e] * hmask[e];
      h_in = hm;
    }
    if (c.ln) {
      gemm_packed<T>(N, GH, Hout, h_in, Hout, Bhh.data_ptr<T>(), RECp + (save ? t : 0) * N * GH, GH, false);
    } else if (whole) {
      gemm_packed<T>(N, GH, Hout, h_in, Hout, Bhh.data_ptr<T>(), Pp + t * N * GH, GH, true);
    } else {
      const Term<T> terms[2] = {{Xp + t * N * I, I, Bih.data_ptr<T>(), I}, {h_in, Hout, Bhh.data_ptr<T>(), Hout}};
      gemm_packed_terms<T>(N, GH, terms, 2, Pp, GH, false);
    }
    if (c.fgr) gemm_packed<T>(N, SH, SH, Ap + cp * N * SH, SH, Bgh.data_ptr<T>(), FG.data_ptr<T>(), SH, false);

    at::parallel_for(0, N, grain, [&](int64_t n0, int64_t n1) {
      std::vector<T> zs(c.ln && save ? GH : 0), ks(kw);
      for (int64_t n = n0; n < n1; ++n) {
        const bool m = mk ? mk[t * N + n] : true;
        const T* c_prev = Cp + (cp * N + n) * H;
        T* c_out = Cp + (ca * N + n) * H;
        const T* h_prv = Hp + (hp * N + n) * Hout;
        T* h_out = Hp + (ha * N + n) * Hout;
        if (!m) {  // padding: the state passes through, the output stays 0
          std::copy(c_prev, c_prev + H, c_out);
          if (!proj) std::copy(h_prv, h_prv + Hout, h_out);
          if (c.fgr) {
            const T* a_prev = Ap + (cp * N + n) * SH;
            std::copy(a_prev, a_prev + SH, Ap + (ca * N + n) * SH);
          }
          continue;
        }
        T* act = ACTp + ((save ? t : 0) * N + n) * GH;
        T* cnew = c_direct ? c_out : CNp + n * H;
        T* r = h_direct ? h_out : Rp + n * H;
        T* st = c.ln ? STp + ((save ? t : 0) * N + n) * 6 : nullptr;
        T* z = Pp + ((whole ? t : 0) * N + n) * GH;
        gates_row<T>(c, p, z, c.ln ? RECp + ((save ? t : 0) * N + n) * GH : nullptr,
                     c.fgr ? FGp + n * SH : nullptr, c_prev, act, cnew, r, st, zs.empty() ? z : zs.data());
        if (!c_direct) {
          if (kc.mode)
            zone_row(kc, t, n, c_prev, cnew, c_out, H, ks.data());
          else
            std::copy(cnew, cnew + H, c_out);
        }
        if (c.fgr) gates_state_row(c, act, Ap + (ca * N + n) * SH);
        if (!proj && !h_direct) {
          if (kh.mode)
            zone_row(kh, t, n, h_prv, r, h_out, Hout, ks.data());
          else
            std::copy(r, r + Hout, h_out);
          if (Yp) std::copy(h_out, h_out + Hout, Yp + (t * N + n) * Hout);
        }
      }
    });
    if (proj) {
      gemm_packed<T>(N, Hout, H, Rp, H, Bhr.data_ptr<T>(), HN.data_ptr<T>(), Hout, false);
      at::parallel_for(0, N, row_grain(Hout), [&](int64_t n0, int64_t n1) {
        std::vector<T> ks(kw);
        for (int64_t n = n0; n < n1; ++n) {
          const bool m = mk ? mk[t * N + n] : true;
          const T* h_prv = Hp + (hp * N + n) * Hout;
          T* h_out = Hp + (ha * N + n) * Hout;
          if (!m) {
            std::copy(h_prv, h_prv + Hout, h_out);
            continue;
          }
          const T* hn = HNp + n * Hout;
          if (kh.mode)
            zone_row(kh, t, n, h_prv, hn, h_out, Hout, ks.data());
          else
            std::copy(hn, hn + Hout, h_out);
          if (Yp) std::copy(h_out, h_out + Hout, Yp + (t * N + n) * Hout);
        }
      });
    }
  }

  const int64_t last = c.reverse ? 0 : L;
  const int64_t clast = full ? last : L % 2;
  Tensor states_h = Hbuf.narrow(0, c.reverse ? 0 : 1, L);
  Tensor out = Y.defined() ? Y : states_h;
  Tensor hn = Hbuf[last];
  Tensor cn = Cbuf[clast];
  Tensor an = c.fgr ? Abuf[clast] : Tensor();
  Tensor Hs, Cs, As;
  if (need_states) {  // every step's state, zero at padded steps (as the runner returns them)
    Hs = Hbuf.narrow(0, c.reverse ? 0 : 1, L);
    Cs = Cbuf.narrow(0, c.reverse ? 0 : 1, L);
    if (c.fgr) As = Abuf.narrow(0, c.reverse ? 0 : 1, L);
    if (mask.defined()) {
      const Tensor m3 = mask.unsqueeze(-1);
      Hs = Y.clone();
      Cs = at::where(m3, Cs, at::Scalar(0));
      if (c.fgr) As = at::where(m3, As, at::Scalar(0));
    }
  }
  Tensor PLN = c.ln ? P : Tensor();
  if (!save) Hbuf = Cbuf = Abuf = ACT = STATS = PLN = REC = Tensor();
  if (!c.ln) REC = Tensor();
  return {out, hn, cn, an, Hs, Cs, As, Hbuf, Cbuf, Abuf, ACT, STATS, PLN, REC};
}

template <typename T>
static Params<T> make_params(const OptTensor& b1, const OptTensor& b2, const Tensor& w_ch, const Tensor& ln_ih,
                             const Tensor& ln_hh, const Tensor& ln_cw, const Tensor& ln_cb) {
  Params<T> p;
  p.b1 = ptr<T>(b1);
  p.b2 = ptr<T>(b2);
  p.w_ch = ptr<T>(w_ch);
  p.ln_ih = ptr<T>(ln_ih);
  p.ln_hh = ptr<T>(ln_hh);
  p.ln_cw = ptr<T>(ln_cw);
  p.ln_cb = ptr<T>(ln_cb);
  return p;
}

static void check_dtype(const Tensor& ref, const OptTensor& t, const char* name) {
  if (has(t)) {
    TORCH_CHECK(t->scalar_type() == ref.scalar_type(), "lstmkit fused: ", name, " has dtype ", t->scalar_type(),
                ", expected ", ref.scalar_type());
    TORCH_CHECK(t->device().is_cpu(), "lstmkit fused: ", name, " must be on the CPU");
  }
}

// Returns [output, h_n, c_n, a_n, H_states, C_states, A_states, Hbuf, Cbuf, Abuf, ACT, STATS, P, REC]
// (undefined tensors where absent); the last seven are what the backward needs when `save`.
std::vector<Tensor> lstm_forward(const Tensor& x_, const Tensor& h0_, const Tensor& c0_, const OptTensor& a0,
                                 const Tensor& w_ih_, const Tensor& w_hh_, const OptTensor& b_ih,
                                 const OptTensor& b_hh, const OptTensor& w_ch, const OptTensor& w_gh,
                                 const OptTensor& w_hr, const OptTensor& ln_ih, const OptTensor& ln_hh,
                                 const OptTensor& ln_cw, const OptTensor& ln_cb, const OptTensor& h_mask,
                                 const OptTensor& keep_h, const OptTensor& keep_c, const OptTensor& mask,
                                 const std::vector<int64_t>& flags, double eps, const std::vector<double>& zone,
                                 const std::vector<int64_t>& seeds, bool save, bool need_states) {
  TORCH_CHECK(x_.dim() == 3, "lstmkit fused: x must be (L, N, I)");
  const Tensor x = x_.contiguous(), h0 = h0_.contiguous(), c0 = c0_.contiguous();
  const Tensor w_ih = w_ih_.contiguous(), w_hh = w_hh_.contiguous();
  const int64_t H = c0.size(1), Hout = h0.size(1);
  const Cfg c = make_cfg(flags, eps, H, Hout);
  TORCH_CHECK(x.device().is_cpu(), "lstmkit fused: CPU tensors only");
  for (const auto& [t, name] : std::vector<std::pair<OptTensor, const char*>>{
           {h0, "h0"}, {c0, "c0"}, {a0, "a0"}, {w_ih, "weight_ih"}, {w_hh, "weight_hh"}, {b_ih, "bias_ih"},
           {b_hh, "bias_hh"}, {w_ch, "weight_ch"}, {w_gh, "weight_gh"}, {w_hr, "weight_hr"},
           {ln_ih, "ln_ih_weight"}, {ln_hh, "ln_hh_weight"}, {ln_cw, "ln_c_weight"}, {ln_cb, "ln_c_bias"},
           {h_mask, "h_mask"}, {keep_h, "keep_h"}, {keep_c, "keep_c"}})
    check_dtype(x, t, name);
  TORCH_CHECK(w_ih.size(0) == c.GH && w_hh.size(0) == c.GH && w_hh.size(1) == Hout && w_ih.size(1) == x.size(2),
              "lstmkit fused: weight shapes do not match the spec");
  TORCH_CHECK(!c.fgr || has(a0), "lstmkit fused: FGR needs a0");
  TORCH_CHECK(!has(mask) || mask->scalar_type() == at::kBool, "lstmkit fused: mask must be bool");
  TORCH_CHECK(zone.size() == 2 && (seeds.empty() || seeds.size() == 4), "lstmkit fused: zone (2) / seeds (4)");
  Tensor a0c = contig(a0), w_chc = contig(w_ch), w_ghc = contig(w_gh), w_hrc = contig(w_hr);
  Tensor ln_ihc = contig(ln_ih), ln_hhc = contig(ln_hh), ln_cwc = contig(ln_cw), ln_cbc = contig(ln_cb);
  Tensor hm = contig(h_mask), msk = contig(mask);
  Tensor kh = has(keep_h) ? *keep_h : Tensor(), kc = has(keep_c) ? *keep_c : Tensor();
  auto prep_keep = [](Tensor k) {
    if (!k.defined()) return k;
    bool constant = true;
    for (int64_t d = 0; d < k.dim(); ++d) constant = constant && (k.stride(d) == 0 || k.size(d) == 1);
    return constant ? k : k.contiguous();
  };
  kh = prep_keep(kh);
  kc = prep_keep(kc);
  OptTensor b1 = has(b_ih) ? OptTensor(b_ih->contiguous()) : OptTensor();
  OptTensor b2 = has(b_hh) ? OptTensor(b_hh->contiguous()) : OptTensor();
  at::NoGradGuard no_grad;
  pybind11::gil_scoped_release no_gil;
  std::vector<Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_forward", [&] {
    Params<scalar_t> p = make_params<scalar_t>(b1, b2, w_chc, ln_ihc, ln_hhc, ln_cwc, ln_cbc);
    out = forward_impl<scalar_t>(c, x, h0, c0, a0c, w_ih, w_hh, p, w_ghc, w_hrc, hm, kh, kc, msk, zone, seeds, save,
                                 need_states);
  });
  return out;
}

// ------------------------------------------------------------------------------------ backward
template <typename T>
static std::vector<Tensor> backward_impl(const Cfg& c, const Tensor& dY, const Tensor& dhn, const Tensor& dcn,
                                         const Tensor& dan, const Tensor& dHs, const Tensor& dCs,
                                         const Tensor& dAs, const Tensor& x, const Tensor& w_ih,
                                         const Tensor& w_hh, const Params<T>& p, bool has_b1, bool has_b2,
                                         const Tensor& w_ch, const Tensor& w_gh, const Tensor& w_hr,
                                         const Tensor& h_mask, const Tensor& keep_h, const Tensor& keep_c,
                                         const Tensor& mask, const Tensor& Hbuf, const Tensor& Cbuf,
                                         const Tensor& Abuf, const Tensor& ACT, const Tensor& STATS,
                                         const Tensor& P, const Tensor& REC, const std::vector<double>& zone,
                                         const std::vector<int64_t>& seeds, const std::vector<bool>& need) {
  const int64_t L = x.size(0), N = x.size(1), I = x.size(2);
  const int64_t H = c.H, Hout = c.Hout, GH = c.GH, SH = c.SH, S = c.S;
  const bool proj = w_hr.defined();
  const auto opt = x.options();

  // carried gradients of the state after the step being processed
  Tensor DH = dhn.defined() ? dhn.clone() : at::zeros({N, Hout}, opt);
  Tensor DC = dcn.defined() ? dcn.clone() : at::zeros({N, H}, opt);
  Tensor DA = c.fgr ? (dan.defined() ? dan.clone() : at::zeros({N, SH}, opt)) : Tensor();
  Tensor DAN = c.fgr ? at::empty({N, SH}, opt) : Tensor();
  Tensor DCN = at::empty({N, H}, opt);
  Tensor DHN = proj ? at::empty({L, N, Hout}, opt) : at::empty({N, Hout}, opt);
  Tensor DR = proj ? at::empty({N, H}, opt) : Tensor();
  Tensor RALL = proj ? at::empty({L, N, H}, opt) : Tensor();
  Tensor TMP = h_mask.defined() ? at::empty({N, Hout}, opt) : Tensor();
  // gradient of the x-product and of the h-product (the same tensor without layer norm)
  Tensor dP = at::empty({L, N, GH}, opt);
  Tensor dREC = c.ln ? at::empty({L, N, GH}, opt) : dP;
  Tensor dZS = c.fgr ? at::empty({L, N, SH}, opt) : Tensor();

  // the weights of the per-step products, packed once
  Tensor Bhh = at::empty({packed_size<T>(GH, Hout)}, opt);
  pack_b<T>(GH, Hout, w_hh.data_ptr<T>(), Hout, 1, Bhh.data_ptr<T>());  // W_hh
  Tensor Bgh = c.fgr ? at::empty({packed_size<T>(SH, SH)}, opt) : Tensor();
  if (c.fgr) pack_b<T>(SH, SH, w_gh.data_ptr<T>(), SH, 1, Bgh.data_ptr<T>());  // W_gh
  Tensor Bhr = proj ? at::empty({packed_size<T>(Hout, H)}, opt) : Tensor();
  if (proj) pack_b<T>(Hout, H, w_hr.data_ptr<T>(), H, 1, Bhr.data_ptr<T>());  // W_hr
  const T* hmask = h_mask.defined() ? h_mask.data_ptr<T>() : nullptr;
  Tensor Hprev = Hbuf.narrow(0, c.reverse ? 1 : 0, L);  // h_{t-1} of every step (L, N, Hout)
  Tensor Hin = h_mask.defined() ? Hprev * h_mask : Hprev;
  TORCH_CHECK(!c.ln || (P.defined() && REC.defined()), "lstmkit fused: layer norm backward needs P and REC");

  // per-thread accumulators (double) of the bias, peephole and layer-norm gradients
  const int64_t o_b = 0, o_p = o_b + GH, o_li = o_p + S * H, o_lh = o_li + GH, o_cw = o_lh + GH, o_cb = o_cw + H;
  const int64_t K = o_cb + H;
  const int nthreads = at::get_num_threads();
  std::vector<double> acc(static_cast<size_t>(nthreads) * K, 0.0);

  const int64_t* sd = seeds.size() == 4 ? seeds.data() : nullptr;
  const Keep<T> kh = make_keep<T>(keep_h, N, Hout, zone[0], sd), kc = make_keep<T>(keep_c, N, H, zone[1], sd ? sd + 2 : nullptr);
  const bool* mk = mask.defined() ? mask.data_ptr<bool>() : nullptr;
  const T* Hp = Hbuf.data_ptr<T>();
  const T* Cp = Cbuf.data_ptr<T>();
  const T* ACTp = ACT.data_ptr<T>();
  const T* STp = c.ln ? STATS.data_ptr<T>() : nullptr;
  const T* dYp = dY.defined() ? dY.data_ptr<T>() : nullptr;
  const T* dHsp = dHs.defined() ? dHs.data_ptr<T>() : nullptr;
  const T* dCsp = dCs.defined() ? dCs.data_ptr<T>() : nullptr;
  const T* dAsp = dAs.defined() ? dAs.data_ptr<T>() : nullptr;
  const T* Pp = c.ln ? P.data_ptr<T>() : nullptr;
  const T* RECp = c.ln ? REC.data_ptr<T>() : nullptr;
  T* DHp = DH.data_ptr<T>();
  T* DCp = DC.data_ptr<T>();
  T* DAp = c.fgr ? DA.data_ptr<T>() : nullptr;
  T* DANp = c.fgr ? DAN.data_ptr<T>() : nullptr;
  T* DCNp = DCN.data_ptr<T>();
  T* DHNp = DHN.data_ptr<T>();
  const T* DRp = proj ? DR.data_ptr<T>() : nullptr;
  T* RALLp = proj ? RALL.data_ptr<T>() : nullptr;
  T* dPp = dP.data_ptr<T>();
  T* dRECp = dREC.data_ptr<T>();
  T* dZSp = c.fgr ? dZS.data_ptr<T>() : nullptr;
  const int64_t grain = row_grain(GH);

  // Pass A of a row: the gradient reaching the step's new h (dh_new) and c (dc_new), and what
  // passes straight to the previous state (zoneout keep, padding). Returns the mask bit.
  auto pass_a = [&](int64_t t, int64_t n, T* ks) -> bool {
    const bool m = mk ? mk[t * N + n] : true;
    T* dh = DHp + n * Hout;
    T* dc = DCp + n * H;
    const int64_t ro = (t * N + n);
    if (!m) {  // the state passes through; the step's outputs (and returned states) are 0
      std::fill(dPp + ro * GH, dPp + (ro + 1) * GH, T(0));
      if (c.ln) std::fill(dRECp + ro * GH, dRECp + (ro + 1) * GH, T(0));
      if (c.fgr) std::fill(dZSp + ro * SH, dZSp + (ro + 1) * SH, T(0));
      if (proj) {
        std::fill(DHNp + ro * Hout, DHNp + (ro + 1) * Hout, T(0));
        std::fill(RALLp + ro * H, RALLp + (ro + 1) * H, T(0));
      }
      return false;
    }
    T* dhn_row = proj ? DHNp + ro * Hout : DHNp + n * Hout;
    if (dYp)
      for (int64_t j = 0; j < Hout; ++j) dh[j] += dYp[ro * Hout + j];
    if (dHsp)
      for (int64_t j = 0; j < Hout; ++j) dh[j] += dHsp[ro * Hout + j];
    if (kh.mode == 1) {
      const T kv = kh.value, kn = T(1) - kh.value;
      for (int64_t j = 0; j < Hout; ++j) dhn_row[j] = kn * dh[j], dh[j] = kv * dh[j];
    } else if (kh.mode >= 2) {
      const T* kr = kh.row(t, n, ks);
      for (int64_t j = 0; j < Hout; ++j) dhn_row[j] = (T(1) - kr[j]) * dh[j], dh[j] = kr[j] * dh[j];
    } else {
      std::copy(dh, dh + Hout, dhn_row);
      std::fill(dh, dh + Hout, T(0));
    }
    T* dcn_row = DCNp + n * H;
    if (dCsp)
      for (int64_t j = 0; j < H; ++j) dc[j] += dCsp[ro * H + j];
    if (kc.mode == 1) {
      const T kv = kc.value, kn = T(1) - kc.value;
      for (int64_t j = 0; j < H; ++j) dcn_row[j] = kn * dc[j], dc[j] = kv * dc[j];
    } else if (kc.mode >= 2) {
      const T* kr = kc.row(t, n, ks);
      for (int64_t j = 0; j < H; ++j) dcn_row[j] = (T(1) - kr[j]) * dc[j], dc[j] = kr[j] * dc[j];
    } else {
      std::copy(dc, dc + H, dcn_row);
      std::fill(dc, dc + H, T(0));
    }
    if (c.fgr) {
      T* da = DAp + n * SH;
      T* dan_row = DANp + n * SH;
      for (int64_t j = 0; j < SH; ++j) dan_row[j] = da[j] + (dAsp ? dAsp[ro * SH + j] : T(0));
      std::fill(da, da + SH, T(0));
    }
    return true;
  };

  // Pass B of a row: through the gate math to dz (the pre-activations).
  auto pass_b = [&](int64_t t, int64_t n, int64_t prev, T* scratch, double* ac) {
    const int64_t ro = t * N + n;
    const T* act = ACTp + ro * GH;
    const T* ai = c.ig ? act + c.bi * H : nullptr;
    const T* af = c.bf >= 0 ? act + c.bf * H : nullptr;
    const T* ag = act + c.bg * H;
    const T* ao = c.og ? act + c.bo * H : nullptr;
    const T* cp = Cp + (prev * N + n) * H;
    const T* dr = proj ? DRp + n * H : DHNp + n * Hout;
    const T* dcn_row = DCNp + n * H;
    const T* ga = c.fgr ? DANp + n * SH : nullptr;
    T* dc = DCp + n * H;
    T* cnew = scratch;
    T* xc = scratch + H;
    T* phi = scratch + 2 * H;
    T* dct = scratch + 3 * H;
    T* tmp = scratch + 4 * H;
    T* dz = c.ln ? scratch + 5 * H : dPp + ro * GH;  // dL/dz (GH)
    T* g = scratch + 5 * H + GH;                      // layer-norm scratch (GH)
    T* xh = scratch + 5 * H + 2 * GH;                 // normalized product (GH)
    const T* st = c.ln ? STp + ro * 6 : nullptr;
    // recompute c_new, the output activation and r = o * phi
    if (!c.fg) {
      if (ai)
        for (int64_t j = 0; j < H; ++j) cnew[j] = cp[j] + ai[j] * ag[j];
      else
        for (int64_t j = 0; j < H; ++j) cnew[j] = cp[j] + ag[j];
    } else if (c.coupled) {
      for (int64_t j = 0; j < H; ++j) cnew[j] = (T(1) - ai[j]) * cp[j] + ai[j] * ag[j];
    } else if (ai) {
      for (int64_t j = 0; j < H; ++j) cnew[j] = af[j] * cp[j] + ai[j] * ag[j];
    } else {
      for (int64_t j = 0; j < H; ++j) cnew[j] = af[j] * cp[j] + ag[j];
    }
    const T* cin = cnew;
    if (c.ln) {
      const T mc = st[4], rc = st[5];
      for (int64_t j = 0; j < H; ++j) {
        xc[j] = (cnew[j] - mc) * rc;
        phi[j] = xc[j] * p.ln_cw[j] + p.ln_cb[j];
      }
      cin = phi;
    }
    act_forward(c.act_h, cin, phi, H);
    if (proj) {
      T* rr = RALLp + ro * H;
      if (ao)
        for (int64_t j = 0; j < H; ++j) rr[j] = ao[j] * phi[j];
      else
        std::copy(phi, phi + H, rr);
    }
    // through o and phi: tmp = dL/do, dct = dL/d(phi input)
    if (ao) {
      for (int64_t j = 0; j < H; ++j) {
        tmp[j] = dr[j] * phi[j];
        dct[j] = dr[j] * ao[j];
      }
      if (ga) {
        const T* gao = ga + c.so * H;
        for (int64_t j = 0; j < H; ++j) tmp[j] += gao[j];
      }
    } else {
      std::copy(dr, dr + H, dct);
    }
    act_backward(c.act_h, phi, dct, dct, H);
    if (c.ln) {  // cell layer norm: its gain and shift, then back to c_new
      double* acw = ac + o_cw;
      double* acb = ac + o_cb;
      for (int64_t j = 0; j < H; ++j) {
        acw[j] += static_cast<double>(dct[j] * xc[j]);
        acb[j] += static_cast<double>(dct[j]);
      }
      ln_backward_row(dct, p.ln_cw, xc, st[5], g, dct, H);
    }
    for (int64_t j = 0; j < H; ++j) dct[j] += dcn_row[j];
    if (ao) {
      T* dzo = dz + c.bo * H;
      for (int64_t j = 0; j < H; ++j) dzo[j] = tmp[j] * (ao[j] * (T(1) - ao[j]));
      if (c.peep) {
        const T* w = p.w_ch + c.so * H;
        double* ap = ac + o_p + c.so * H;
        for (int64_t j = 0; j < H; ++j) {
          dct[j] += dzo[j] * w[j];
          ap[j] += static_cast<double>(dzo[j] * cnew[j]);
        }
      }
    }
    // through c_new = f * c_prev + i * g
    if (!c.fg)
      for (int64_t j = 0; j < H; ++j) dc[j] += dct[j];
    else if (c.coupled)
      for (int64_t j = 0; j < H; ++j) dc[j] += dct[j] * (T(1) - ai[j]);
    else
      for (int64_t j = 0; j < H; ++j) dc[j] += dct[j] * af[j];
    {
      T* dzg = dz + c.bg * H;
      if (ai)
        for (int64_t j = 0; j < H; ++j) tmp[j] = dct[j] * ai[j];
      else
        std::copy(dct, dct + H, tmp);
      act_backward(c.act_g, ag, tmp, dzg, H);
    }
    if (ai) {
      T* dzi = dz + c.bi * H;
      if (c.coupled)
        for (int64_t j = 0; j < H; ++j) tmp[j] = dct[j] * (ag[j] - cp[j]);
      else
        for (int64_t j = 0; j < H; ++j) tmp[j] = dct[j] * ag[j];
      if (ga) {
        const T* gai = ga + c.si * H;
        for (int64_t j = 0; j < H; ++j) tmp[j] += gai[j];
      }
      for (int64_t j = 0; j < H; ++j) dzi[j] = tmp[j] * (ai[j] * (T(1) - ai[j]));
      if (c.peep) {
        const T* w = p.w_ch + c.si * H;
        double* ap = ac + o_p + c.si * H;
        for (int64_t j = 0; j < H; ++j) {
          dc[j] += dzi[j] * w[j];
          ap[j] += static_cast<double>(dzi[j] * cp[j]);
        }
      }
    }
    if (af) {
      T* dzf = dz + c.bf * H;
      for (int64_t j = 0; j < H; ++j) tmp[j] = dct[j] * cp[j];
      if (ga) {
        const T* gaf = ga + c.sf * H;
        for (int64_t j = 0; j < H; ++j) tmp[j] += gaf[j];
      }
      for (int64_t j = 0; j < H; ++j) dzf[j] = tmp[j] * (af[j] * (T(1) - af[j]));
      if (c.peep) {
        const T* w = p.w_ch + c.sf * H;
        double* ap = ac + o_p + c.sf * H;
        for (int64_t j = 0; j < H; ++j) {
          dc[j] += dzf[j] * w[j];
          ap[j] += static_cast<double>(dzf[j] * cp[j]);
        }
      }
    }
    if (c.fgr) {  // sigmoid-gate gradients side by side, for dW_gh and da_{t-1}
      T* zs = dZSp + ro * SH;
      const int blocks[3] = {c.bi, c.bf, c.bo};
      const int sblocks[3] = {c.si, c.sf, c.so};
      for (int k = 0; k < 3; ++k)
        if (blocks[k] >= 0) std::copy(dz + blocks[k] * H, dz + (blocks[k] + 1) * H, zs + sblocks[k] * H);
    }
    {
      double* ab = ac + o_b;
      for (int64_t j = 0; j < GH; ++j) ab[j] += static_cast<double>(dz[j]);
    }
    if (c.ln) {  // z = LN(P) * w_ih + LN(REC) * w_hh + b
      const T* pr = Pp + ro * GH;
      const T* rr = RECp + ro * GH;
      double* ali = ac + o_li;
      double* alh = ac + o_lh;
      for (int64_t j = 0; j < GH; ++j) xh[j] = (pr[j] - st[0]) * st[1];
      for (int64_t j = 0; j < GH; ++j) ali[j] += static_cast<double>(dz[j] * xh[j]);
      ln_backward_row(dz, p.ln_ih, xh, st[1], g, dPp + ro * GH, GH);
      for (int64_t j = 0; j < GH; ++j) xh[j] = (rr[j] - st[2]) * st[3];
      for (int64_t j = 0; j < GH; ++j) alh[j] += static_cast<double>(dz[j] * xh[j]);
      ln_backward_row(dz, p.ln_hh, xh, st[3], g, dRECp + ro * GH, GH);
    }
  };

  // scratch per row: cnew, xc, phi, dct, tmp (H each), dz, g, xh (GH each)
  const int64_t scratch_size = 5 * H + 3 * GH + std::max(H, Hout);  // + a keep row
  for (int64_t s = L - 1; s >= 0; --s) {
    const int64_t t = c.reverse ? L - 1 - s : s;
    const int64_t prev = c.reverse ? t + 1 : t;  // slot of the state before step t
    if (proj) {
      at::parallel_for(0, N, row_grain(Hout), [&](int64_t n0, int64_t n1) {
        std::vector<T> ks(std::max(H, Hout));
        for (int64_t n = n0; n < n1; ++n) pass_a(t, n, ks.data());
      });
      gemm_packed<T>(N, H, Hout, DHNp + t * N * Hout, Hout, Bhr.data_ptr<T>(), DR.data_ptr<T>(), H, false);
    }
    at::parallel_for(0, N, grain, [&](int64_t n0, int64_t n1) {
      std::vector<T> scratch(scratch_size);
      double* ac = acc.data() + static_cast<size_t>(at::get_thread_num()) * K;
      for (int64_t n = n0; n < n1; ++n) {
        const bool m = proj ? (mk ? mk[t * N + n] : true) : pass_a(t, n, scratch.data() + scratch_size - std::max(H, Hout));
        if (m) pass_b(t, n, prev, scratch.data(), ac);
      }
    });
    if (hmask) {
      T* tmp = TMP.data_ptr<T>();
      gemm_packed<T>(N, Hout, GH, dRECp + t * N * GH, GH, Bhh.data_ptr<T>(), tmp, Hout, false);
      for (int64_t e = 0; e < N * Hout; ++e) DHp[e] += tmp[e] * hmask[e];
    } else {
      gemm_packed<T>(N, Hout, GH, dRECp + t * N * GH, GH, Bhh.data_ptr<T>(), DHp, Hout, true);
    }
    if (c.fgr) gemm_packed<T>(N, SH, SH, dZSp + t * N * SH, SH, Bgh.data_ptr<T>(), DAp, SH, true);
  }

  // weight gradients and dX: large products over all steps
  enum { kX, kH0, kC0, kA0, kWih, kWhh, kBih, kBhh, kWch, kWgh, kWhr, kLnih, kLnhh, kLncw, kLncb };
  std::vector<Tensor> grads(15);
  const Tensor dP2 = dP.view({L * N, GH});
  if (need[kX]) {
    grads[kX] = at::empty({L, N, I}, opt);
    gemm(grads[kX].view({L * N, I}), dP2, w_ih, false);
  }
  grads[kH0] = DH;
  grads[kC0] = DC;
  if (c.fgr) grads[kA0] = DA;
  if (need[kWih]) {
    grads[kWih] = at::empty({GH, I}, opt);
    gemm(grads[kWih], dP2.t(), x.view({L * N, I}), false);
  }
  if (need[kWhh]) {
    grads[kWhh] = at::empty({GH, Hout}, opt);
    gemm(grads[kWhh], dREC.view({L * N, GH}).t(), Hin.reshape({L * N, Hout}), false);
  }
  if (proj && need[kWhr]) {
    grads[kWhr] = at::empty({Hout, H}, opt);
    gemm(grads[kWhr], DHN.view({L * N, Hout}).t(), RALL.view({L * N, H}), false);
  }
  if (c.fgr && need[kWgh]) {
    grads[kWgh] = at::empty({SH, SH}, opt);
    gemm(grads[kWgh], dZS.view({L * N, SH}).t(), Abuf.narrow(0, c.reverse ? 1 : 0, L).reshape({L * N, SH}), false);
  }
  auto reduce = [&](int64_t off, int64_t len) {
    Tensor out = at::empty({len}, opt);
    T* o = out.data_ptr<T>();
    for (int64_t j = 0; j < len; ++j) {
      double s = 0;
      for (int th = 0; th < nthreads; ++th) s += acc[static_cast<size_t>(th) * K + off + j];
      o[j] = static_cast<T>(s);
    }
    return out;
  };
  if (has_b1 || has_b2) {
    Tensor db = reduce(o_b, GH);
    if (has_b1) grads[kBih] = db;
    if (has_b2) grads[kBhh] = has_b1 ? db.clone() : db;
  }
  if (c.peep && need[kWch]) grads[kWch] = reduce(o_p, S * H).view({S, H});
  if (c.ln) {
    grads[kLnih] = reduce(o_li, GH);
    grads[kLnhh] = reduce(o_lh, GH);
    grads[kLncw] = reduce(o_cw, H);
    grads[kLncb] = reduce(o_cb, H);
  }
  (void)w_ch;
  return grads;
}

// Returns the gradients of [x, h0, c0, a0, w_ih, w_hh, b_ih, b_hh, w_ch, w_gh, w_hr, ln_ih, ln_hh,
// ln_c_weight, ln_c_bias] (undefined where absent or not needed).
std::vector<Tensor> lstm_backward(const OptTensor& dY, const OptTensor& dhn, const OptTensor& dcn,
                                  const OptTensor& dan, const OptTensor& dHs, const OptTensor& dCs,
                                  const OptTensor& dAs, const Tensor& x_, const Tensor& w_ih_, const Tensor& w_hh_,
                                  const OptTensor& b_ih, const OptTensor& b_hh, const OptTensor& w_ch,
                                  const OptTensor& w_gh, const OptTensor& w_hr, const OptTensor& ln_ih,
                                  const OptTensor& ln_hh, const OptTensor& ln_cw, const OptTensor& ln_cb,
                                  const OptTensor& h_mask, const OptTensor& keep_h, const OptTensor& keep_c,
                                  const OptTensor& mask, const Tensor& Hbuf, const Tensor& Cbuf,
                                  const OptTensor& Abuf, const Tensor& ACT, const OptTensor& STATS,
                                  const OptTensor& P, const OptTensor& REC, const std::vector<int64_t>& flags,
                                  double eps, const std::vector<double>& zone, const std::vector<int64_t>& seeds,
                                  const std::vector<bool>& need) {
  const Tensor x = x_.contiguous(), w_ih = w_ih_.contiguous(), w_hh = w_hh_.contiguous();
  const Cfg c = make_cfg(flags, eps, Cbuf.size(2), Hbuf.size(2));
  TORCH_CHECK(need.size() == 15, "lstmkit fused: expected 15 need flags");
  Tensor w_chc = contig(w_ch), w_ghc = contig(w_gh), w_hrc = contig(w_hr);
  Tensor ln_ihc = contig(ln_ih), ln_hhc = contig(ln_hh), ln_cwc = contig(ln_cw), ln_cbc = contig(ln_cb);
  Tensor hm = contig(h_mask), msk = contig(mask);
  Tensor kh = has(keep_h) ? *keep_h : Tensor(), kc = has(keep_c) ? *keep_c : Tensor();
  auto prep_keep = [](Tensor k) {
    if (!k.defined()) return k;
    bool constant = true;
    for (int64_t d = 0; d < k.dim(); ++d) constant = constant && (k.stride(d) == 0 || k.size(d) == 1);
    return constant ? k : k.contiguous();
  };
  kh = prep_keep(kh);
  kc = prep_keep(kc);
  Tensor gY = contig(dY), ghn = contig(dhn), gcn = contig(dcn), gan = contig(dan);
  Tensor gHs = contig(dHs), gCs = contig(dCs), gAs = contig(dAs);
  at::NoGradGuard no_grad;
  pybind11::gil_scoped_release no_gil;
  std::vector<Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_backward", [&] {
    Params<scalar_t> p = make_params<scalar_t>(OptTensor(), OptTensor(), w_chc, ln_ihc, ln_hhc, ln_cwc, ln_cbc);
    out = backward_impl<scalar_t>(c, gY, ghn, gcn, gan, gHs, gCs, gAs, x, w_ih, w_hh, p, has(b_ih), has(b_hh), w_chc,
                                  w_ghc, w_hrc, hm, kh, kc, msk, Hbuf, Cbuf, contig(Abuf), ACT, contig(STATS), contig(P),
                                  contig(REC), zone, seeds, need);
  });
  return out;
}

// ------------------------------------------------------------------------------------ streaming
// Python's name of a dtype, for error messages.
static std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "torch.float32";
    case at::kDouble: return "torch.float64";
    case at::kHalf: return "torch.float16";
    case at::kBFloat16: return "torch.bfloat16";
    default: return std::string("torch.") + c10::toString(t);
  }
}

// Streaming inference: one step of a stack of unidirectional layers, state carried in place.
// Holds the layers' parameter tensors (detached views of the module's parameters, sharing their
// version counters), the state buffers, a workspace, and the weights packed for the per-step
// products. A weight is re-packed when its version counter or storage changes (optimizer
// steps, load_state_dict, .to()); writes through `.data` bypass version counting: call
// refresh() after those. `params` holds 11 entries per layer: w_ih, w_hh, b_ih, b_hh, w_ch,
// w_gh, w_hr, ln_ih, ln_hh, ln_c_weight, ln_c_bias. h (layers, N, Hout), c (layers, N, H),
// a (layers, N, SH). Zoneout uses its evaluation form (keep = z).
class StreamRuntime {
 public:
  StreamRuntime(std::vector<OptTensor> params, Tensor h, Tensor c, OptTensor a, const std::vector<int64_t>& flags,
                double eps, double zh, double zc, int64_t input_size)
      : h_(std::move(h)), c_(std::move(c)), a_(has(a) ? *a : Tensor()),
        cfg_(make_cfg(flags, eps, c_.size(2), h_.size(2))), zh_(zh), zc_(zc), input_size_(input_size) {
    layers_ = h_.size(0);
    N_ = h_.size(1);
    TORCH_CHECK(h_.is_contiguous() && c_.is_contiguous() && (!a_.defined() || a_.is_contiguous()),
                "lstmkit stream: state buffers must be contiguous");
    const auto opt = h_.options();
    z_ = at::empty({N_, cfg_.GH}, opt);
    rec_ = at::empty({N_, cfg_.GH}, opt);
    fg_ = at::empty({N_, std::max<int64_t>(cfg_.SH, 1)}, opt);
    act_ = at::empty({N_, cfg_.GH}, opt);
    cn_ = at::empty({N_, cfg_.H}, opt);
    r_ = at::empty({N_, cfg_.H}, opt);
    hn_ = at::empty({N_, cfg_.Hout}, opt);
    stats_ = at::empty({N_, 6}, opt);
    rebind(std::move(params));
  }

  void rebind(std::vector<OptTensor> params) {
    TORCH_CHECK(static_cast<int64_t>(params.size()) == 11 * layers_, "lstmkit stream: expected 11 params per layer");
    params_.clear();
    for (auto& t : params) params_.push_back(has(t) ? OptTensor(t->contiguous()) : OptTensor());
    packed_.assign(4 * layers_, Packed());
  }

  void refresh() {
    for (auto& p : packed_) p = Packed();
  }

  Tensor step(const Tensor& x, const OptTensor& out) {
    TORCH_CHECK_VALUE(x.dim() == 2 && x.size(0) == N_, "x: expected shape (", N_, ", ", input_size_,
                      ") (N, H_in), got ", x.sizes());
    TORCH_CHECK_VALUE(x.size(1) == input_size_, "x: expected ", input_size_, " features (input_size), got ",
                      x.size(1));
    TORCH_CHECK_TYPE(x.scalar_type() == h_.scalar_type() && x.device() == h_.device(), "x: expected ",
                     dtype_name(h_.scalar_type()), " on ", h_.device(), " (the layer's), got ",
                     dtype_name(x.scalar_type()), " on ", x.device());
    const int64_t Hout = cfg_.Hout;
    Tensor o = has(out) ? *out : at::empty({N_, Hout}, h_.options());
    TORCH_CHECK_VALUE(o.dim() == 2 && o.size(0) == N_ && o.size(1) == Hout && o.is_contiguous() &&
                          o.scalar_type() == h_.scalar_type(),
                      "out: expected a contiguous (", N_, ", ", Hout, ") tensor of ", dtype_name(h_.scalar_type()));
    at::NoGradGuard no_grad;
    const Tensor xc = x.contiguous();
    pybind11::gil_scoped_release no_gil;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_stream", [&] {
      run<scalar_t>(xc);
      const scalar_t* src = h_.data_ptr<scalar_t>() + (layers_ - 1) * N_ * Hout;
      std::copy(src, src + N_ * Hout, o.data_ptr<scalar_t>());
    });
    return o;
  }

 private:
  struct Packed {
    Tensor data;
    int64_t version = -1;
    const void* source = nullptr;
  };

  // The packed transpose of weight w (R x K): the right-hand side of y = x w^T.
  template <typename T>
  const T* packed(int64_t slot, const Tensor& w) {
    Packed& p = packed_[slot];
    const int64_t version = static_cast<int64_t>(w._version());
    if (!p.data.defined() || p.version != version || p.source != w.data_ptr()) {
      const int64_t R = w.size(0), K = w.size(1);
      p.data = at::empty({packed_size<T>(K, R)}, w.options());
      pack_b<T>(K, R, w.data_ptr<T>(), 1, K, p.data.data_ptr<T>());
      p.version = version;
      p.source = w.data_ptr();
    }
    return p.data.data_ptr<T>();
  }

  template <typename T>
  void run(const Tensor& x) {
    const Cfg& cfg = cfg_;
    const int64_t N = N_, H = cfg.H, Hout = cfg.Hout, GH = cfg.GH, SH = cfg.SH;
    Keep<T> kh, kc;
    if (zh_ > 0) kh.mode = 1, kh.value = static_cast<T>(zh_);
    if (zc_ > 0) kc.mode = 1, kc.value = static_cast<T>(zc_);
    const T* inp = x.data_ptr<T>();
    int64_t in_size = input_size_;
    T* zp = z_.data_ptr<T>();
    T* recp = rec_.data_ptr<T>();
    T* fgp = fg_.data_ptr<T>();
    T* actp = act_.data_ptr<T>();
    T* cnp = cn_.data_ptr<T>();
    T* rp = r_.data_ptr<T>();
    T* stp = stats_.data_ptr<T>();
    T* hn = hn_.data_ptr<T>();
    for (int64_t l = 0; l < layers_; ++l) {
      const OptTensor* q = params_.data() + 11 * l;
      const bool proj = has(q[6]);
      T* hp = h_.data_ptr<T>() + l * N * Hout;
      T* cp = c_.data_ptr<T>() + l * N * H;
      T* ap = cfg.fgr ? a_.data_ptr<T>() + l * N * SH : nullptr;
      Params<T> p = make_params<T>(q[2], q[3], has(q[4]) ? *q[4] : Tensor(), has(q[7]) ? *q[7] : Tensor(),
                                   has(q[8]) ? *q[8] : Tensor(), has(q[9]) ? *q[9] : Tensor(),
                                   has(q[10]) ? *q[10] : Tensor());
      if (cfg.ln) {
        gemm_packed<T>(N, GH, in_size, inp, in_size, packed<T>(4 * l, *q[0]), zp, GH, false);
        gemm_packed<T>(N, GH, Hout, hp, Hout, packed<T>(4 * l + 1, *q[1]), recp, GH, false);
      } else {
        const Term<T> terms[2] = {{inp, in_size, packed<T>(4 * l, *q[0]), in_size},
                                  {hp, Hout, packed<T>(4 * l + 1, *q[1]), Hout}};
        gemm_packed_terms<T>(N, GH, terms, 2, zp, GH, false);
      }
      if (cfg.fgr) gemm_packed<T>(N, SH, SH, ap, SH, packed<T>(4 * l + 2, *q[5]), fgp, SH, false);
      at::parallel_for(0, N, row_grain(GH), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
          T* c_row = cp + n * H;
          T* cnew = cnp + n * H;
          T* rr = rp + n * H;
          T* actr = actp + n * GH;
          gates_row<T>(cfg, p, zp + n * GH, cfg.ln ? recp + n * GH : nullptr, cfg.fgr ? fgp + n * SH : nullptr, c_row,
                       actr, cnew, rr, stp + n * 6, zp + n * GH);
          if (kc.mode)
            zone_row(kc, 0, n, c_row, cnew, c_row, H, static_cast<T*>(nullptr));
          else
            std::copy(cnew, cnew + H, c_row);
          if (ap) gates_state_row(cfg, actr, ap + n * SH);
          if (!proj) {
            T* h_row = hp + n * Hout;
            if (kh.mode)
              zone_row(kh, 0, n, h_row, rr, h_row, Hout, static_cast<T*>(nullptr));
            else
              std::copy(rr, rr + Hout, h_row);
          }
        }
      });
      if (proj) {
        gemm_packed<T>(N, Hout, H, rp, H, packed<T>(4 * l + 3, *q[6]), hn, Hout, false);
        for (int64_t n = 0; n < N; ++n) {
          T* h_row = hp + n * Hout;
          if (kh.mode)
            zone_row(kh, 0, n, h_row, hn + n * Hout, h_row, Hout, static_cast<T*>(nullptr));
          else
            std::copy(hn + n * Hout, hn + (n + 1) * Hout, h_row);
        }
      }
      inp = hp;
      in_size = Hout;
    }
  }

  std::vector<OptTensor> params_;
  std::vector<Packed> packed_;
  Tensor h_, c_, a_;
  Cfg cfg_;
  double zh_, zc_;
  int64_t input_size_, layers_ = 0, N_ = 0;
  Tensor z_, rec_, fg_, act_, cn_, r_, hn_, stats_;
};

// The keep weights (L, N, D) the kernel draws for zoneout probability z and seed (k1, k2).
Tensor zoneout_keep(int64_t L, int64_t N, int64_t D, double z, const std::vector<int64_t>& seed,
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

void set_gemm_backend(const std::string& name, int64_t min_rows) {
  TORCH_CHECK(name == "auto" || name == "aten", "gemm backend: expected 'auto' or 'aten', got ", name);
  g_dnn_enabled = (name == "auto");
  if (min_rows > 0) g_dnn_min_rows = min_rows;
}

std::string gemm_backend() {
  if (!g_dnn) return "aten (oneDNN matmul not found in libtorch_cpu)";
  return g_dnn_enabled.load() ? "onednn (float32, >= " + std::to_string(g_dnn_min_rows.load()) + " rows) + aten"
                              : "aten";
}

}  // namespace lstmkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "lstmkit fused LSTM kernels (forward, backward through time, streaming step)";
  m.def("forward", &lstmkit::lstm_forward, "fused LSTM forward over a sequence");
  m.def("backward", &lstmkit::lstm_backward, "hand-written backward through time");
  pybind11::class_<lstmkit::StreamRuntime>(m, "StreamRuntime")
      .def(pybind11::init<std::vector<c10::optional<at::Tensor>>, at::Tensor, at::Tensor, c10::optional<at::Tensor>,
                          const std::vector<int64_t>&, double, double, double, int64_t>())
      .def("step", &lstmkit::StreamRuntime::step, "one inference step of every layer")
      .def("rebind", &lstmkit::StreamRuntime::rebind, "take new parameter tensors")
      .def("refresh", &lstmkit::StreamRuntime::refresh, "re-pack the weights at the next step");
  m.def("zoneout_keep", &lstmkit::zoneout_keep, "the zoneout keep weights the kernel draws for a seed");
  m.def("set_gemm_backend", &lstmkit::set_gemm_backend, "choose the matrix-product backend");
  m.def("gemm_backend", &lstmkit::gemm_backend, "the matrix-product backend in use");
}
