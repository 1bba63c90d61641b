// The gate math of one batch row (lstmkit.core.cells.lstm.lstm_step): the forward of a step, as
// the forward pass and the streaming step run it and the backward pass recomputes it, and the
// backward of a sigmoid gate. A row holds H (or GH, SH) contiguous elements.
#pragma once

#include <algorithm>
#include <cstdint>

#include "config.h"
#include "lstm_math.h"
#include "tensors.h"

namespace lstmkit {

// The weights the row math reads (null where the cell has none).
template <typename T>
struct Params {
  const T* b1 = nullptr;  // bias_ih [GH]
  const T* b2 = nullptr;  // bias_hh [GH]
  const T* w_ch = nullptr;   // [S,H]
  const T* ln_ih = nullptr;  // [GH]
  const T* ln_hh = nullptr;  // [GH]
  const T* ln_cw = nullptr;  // [H]
  const T* ln_cb = nullptr;  // [H]
};

template <typename T>
static Params<T> params_of(const Weights& w) {
  Params<T> p;
  p.b1 = ptr<T>(w.bias_ih);
  p.b2 = ptr<T>(w.bias_hh);
  p.w_ch = ptr<T>(w.weight_ch);
  p.ln_ih = ptr<T>(w.ln_ih_weight);
  p.ln_hh = ptr<T>(w.ln_hh_weight);
  p.ln_cw = ptr<T>(w.ln_c_weight);
  p.ln_cb = ptr<T>(w.ln_c_bias);
  return p;
}

// a = sigmoid(z + w * in) with a peephole w (row of w_ch) on the cell row `in`, else sigmoid(z).
template <typename T>
static inline void sigmoid_gate(const T* z, const T* w, const T* in, T* a, int64_t H) {
  if (w) {
    for (int64_t j = 0; j < H; ++j) a[j] = sigmoid_(z[j] + w[j] * in[j]);
  } else {
    for (int64_t j = 0; j < H; ++j) a[j] = sigmoid_(z[j]);
  }
}

// c_new = f * c_prev + i * g (f = 1 - i when coupled; a gate the cell lacks is 1).
template <typename T>
static inline void cell_update(const Cell& c, const T* cp, const T* ai, const T* af, const T* ag, T* cnew) {
  const int64_t H = c.H;
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
}

// The layer-normalized pre-activations zs = LN(z) * ln_ih + LN(rec) * ln_hh (GH); the statistics
// (mean, 1 / std) of z and rec go to stats[0:4].
template <typename T>
static inline void normalized_products(const Cell& c, const Params<T>& p, const T* z, const T* rec, T* zs, T* stats) {
  const int64_t GH = c.GH;
  T mp, rp, mr, rr;
  row_stats(z, GH, c.eps, mp, rp);
  row_stats(rec, GH, c.eps, mr, rr);
  const T* wi = p.ln_ih;
  const T* wh = p.ln_hh;
  for (int64_t j = 0; j < GH; ++j) zs[j] = (z[j] - mp) * rp * wi[j] + (rec[j] - mr) * rr * wh[j];
  stats[0] = mp, stats[1] = rp, stats[2] = mr, stats[3] = rr;
}

// One step of one row.
//   z: [GH] the pre-activations: the x-product, plus the h-product without layer norm (modified
//       in place unless layer norm writes them to zs)
//   rec: [GH] the h-product (layer norm only)
//   fg: [SH] the FGR product a_{t-1} W_gh^T (FGR only)
//   cp: [H] c_{t-1}
//   act: [GH] out: the gate activations
//   cnew: [H] out: c_t
//   r: [H] out: o * phi(c_t), the output before projection and zoneout
//   stats: [6] out: the layer-norm statistics (ln_stats)
//   zs: [GH] where layer norm writes the normalized pre-activations (may be z itself)
template <typename T>
static void gates_row(const Cell& c, const Params<T>& p, T* z, const T* rec, const T* fg, const T* cp, T* act,
                      T* cnew, T* r, T* stats, T* zs) {
  const int64_t H = c.H, GH = c.GH;
  if (c.ln) {
    normalized_products(c, p, z, rec, zs, stats);
    z = zs;
  }
  if (p.b1)
    for (int64_t j = 0; j < GH; ++j) z[j] += p.b1[j];
  if (p.b2)
    for (int64_t j = 0; j < GH; ++j) z[j] += p.b2[j];
  for (int k = 0; c.fgr && k < c.nsig; ++k) {
    T* zb = z + c.sig_z[k] * H;
    const T* fb = fg + c.sig_s[k] * H;
    for (int64_t j = 0; j < H; ++j) zb[j] += fb[j];
  }
  T* ai = c.ig ? act + c.bi * H : nullptr;
  T* af = c.bf >= 0 ? act + c.bf * H : nullptr;
  T* ag = act + c.bg * H;
  T* ao = c.og ? act + c.bo * H : nullptr;
  if (ai) sigmoid_gate(z + c.bi * H, c.peep ? p.w_ch + c.si * H : nullptr, cp, ai, H);
  if (af) sigmoid_gate(z + c.bf * H, c.peep ? p.w_ch + c.sf * H : nullptr, cp, af, H);
  act_forward(c.act_g, z + c.bg * H, ag, H);
  cell_update(c, cp, ai, af, ag, cnew);
  if (ao) sigmoid_gate(z + c.bo * H, c.peep ? p.w_ch + c.so * H : nullptr, cnew, ao, H);
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

// The FGR state of a row: the sigmoid gates' activations side by side (SH).
template <typename T>
static inline void gates_state_row(const Cell& c, const T* act, T* a) {
  for (int k = 0; k < c.nsig; ++k) std::copy(act + c.sig_z[k] * c.H, act + (c.sig_z[k] + 1) * c.H, a + c.sig_s[k] * c.H);
}

// Backward of a sigmoid gate a = sigmoid(z [+ w * in]) over H elements.
//   a: [H] the gate's activations
//   da: [H] in: dL/da (modified: ga added)
//   ga: [H] the gradient reaching a through the next step's FGR state (null without FGR)
//   dz: [H] out: dL/dz
//   w, in: the peephole (row of w_ch) and the cell row it reads (null without peepholes)
//   din: [H] dL/din, accumulated (peepholes)
//   dw: [H] dL/dw, accumulated in double (peepholes)
template <typename T>
static inline void sigmoid_gate_backward(const T* a, T* da, const T* ga, T* dz, const T* w, const T* in, T* din,
                                         double* dw, int64_t H) {
  if (ga)
    for (int64_t j = 0; j < H; ++j) da[j] += ga[j];
  for (int64_t j = 0; j < H; ++j) dz[j] = da[j] * (a[j] * (T(1) - a[j]));
  if (w)
    for (int64_t j = 0; j < H; ++j) {
      din[j] += dz[j] * w[j];
      dw[j] += static_cast<double>(dz[j] * in[j]);
    }
}

}  // namespace lstmkit
