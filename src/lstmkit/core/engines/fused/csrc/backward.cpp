// The hand-written backward through time (lstm_backward, kernels.h).
//
// Per step (last to first) one pointwise pass over each batch row and the product dZ_t W_hh for
// dh_{t-1}; the weight gradients dW_ih, dW_hh, dW_hr, dW_gh and dX are large products after the
// loop; the bias, peephole and layer-norm gradients are accumulated per thread in the loop.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "cell.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "kernels.h"
#include "zoneout.h"

namespace lstmkit {
namespace {

// The scratch rows of one batch row's backward: H elements each, then GH each.
template <typename T>
struct RowScratch {
  T *cnew, *xc, *phi, *dct, *tmp;  // c_new, its normalized form, phi(c_new), dL/dc_new, a gate's dL/da
  T *dz, *g, *xh;                  // dL/dz (layer norm), layer-norm scratch, a normalized product
  RowScratch(T* s, int64_t H, int64_t GH)
      : cnew(s), xc(s + H), phi(s + 2 * H), dct(s + 3 * H), tmp(s + 4 * H), dz(s + 5 * H), g(s + 5 * H + GH),
        xh(s + 5 * H + 2 * GH) {}
  static int64_t size(int64_t H, int64_t GH) { return 5 * H + 3 * GH; }
};

// Where the per-thread accumulators (double) of the bias, peephole and layer-norm gradients lie.
struct AccLayout {
  int64_t bias, peep, ln_ih, ln_hh, ln_cw, ln_cb, size;
  AccLayout(int64_t H, int64_t GH, int64_t S)
      : bias(0), peep(GH), ln_ih(GH + S * H), ln_hh(2 * GH + S * H), ln_cw(3 * GH + S * H), ln_cb(3 * GH + S * H + H),
        size(3 * GH + S * H + 2 * H) {}
};

template <typename T>
class BackwardPass {
 public:
  BackwardPass(const Cell& cell, const KernelConfig& cfg, const Outputs& grads, const Tensor& x, const Weights& w,
               const Masks& m, const Saved& saved)
      : c(cell), p(params_of<T>(w)), L(x.size(0)), N(x.size(1)), H(cell.H), Hout(cell.Hout), GH(cell.GH),
        SH(cell.SH), proj(w.weight_hr.defined()), acc_at(cell.H, cell.GH, cell.S), nthreads(at::get_num_threads()),
        acc(static_cast<size_t>(nthreads) * acc_at.size, 0.0),
        keeps(m, x.size(1), cell.Hout, cell.H, cfg.zoneout_h, cfg.zoneout_c, cfg.seeds), masks(m), saved(saved) {
    TORCH_CHECK(!c.ln || (saved.x_product.defined() && saved.h_product.defined()),
                "lstmkit fused: layer norm backward needs x_product and h_product");
    allocate(x, grads);
    pack(w);
    mk = ptr<bool>(m.mask);
    hmask = ptr<T>(m.h_mask);
    dYp = ptr<T>(grads.output);
    dHsp = ptr<T>(grads.h_states);
    dCsp = ptr<T>(grads.c_states);
    dAsp = ptr<T>(grads.a_states);
    Cp = saved.c_all.data_ptr<T>();
    ACTp = saved.gates.data_ptr<T>();
    STp = ptr<T>(saved.ln_stats);
    Pp = ptr<T>(saved.x_product);
    RECp = ptr<T>(saved.h_product);
  }

  void step(int64_t s);
  Gradients finish(const Tensor& x, const Weights& w, const Wanted& wanted);

 private:
  void allocate(const Tensor& x, const Outputs& g);
  void pack(const Weights& w);
  bool into_step(int64_t t, int64_t n, T* ks);
  void recompute(int64_t t, int64_t n, int64_t prev, const RowScratch<T>& r);
  void through_output(int64_t t, int64_t n, const RowScratch<T>& r, double* ac);
  void through_cell(int64_t t, int64_t n, int64_t prev, const RowScratch<T>& r, double* ac);
  void to_products(int64_t t, int64_t n, const RowScratch<T>& r, double* ac);
  Tensor reduce(int64_t offset, int64_t len, const at::TensorOptions& opt) const;
  const T* act_of(int64_t t, int64_t n, int block) const {
    return block < 0 ? nullptr : ACTp + (t * N + n) * GH + block * H;
  }
  T* dz_of(int64_t t, int64_t n, const RowScratch<T>& r) const { return c.ln ? r.dz : dPp + (t * N + n) * GH; }

  const Cell& c;
  const Params<T> p;
  const int64_t L, N, H, Hout, GH, SH;
  const bool proj;
  const AccLayout acc_at;
  const int nthreads;
  std::vector<double> acc;  // nthreads x acc_at.size
  const StateKeeps<T> keeps;
  const Masks& masks;
  const Saved& saved;
  const bool* mk = nullptr;
  const T *hmask = nullptr, *dYp = nullptr, *dHsp = nullptr, *dCsp = nullptr, *dAsp = nullptr;  // the inputs
  const T *Cp = nullptr, *ACTp = nullptr, *STp = nullptr, *Pp = nullptr, *RECp = nullptr;       // and saved
  // the carried gradients of the state after the step being processed (DH, DC, DA) and of the
  // step's new state (DHN, DCN, DAN; DHN of every step with a projection), dL/dr (DR), every
  // step's r (RALL, for dW_hr), the gradients of the x-product (dP), of the h-product (dREC: dP
  // itself without layer norm) and of the sigmoid gates side by side (dZS, FGR)
  Tensor DH, DC, DA, DAN, DCN, DHN, DR, RALL, TMP, dP, dREC, dZS;
  T *DHp, *DCp, *DAp, *DANp, *DCNp, *DHNp, *DRp, *RALLp, *dPp, *dRECp, *dZSp;
  Tensor Bhh, Bgh, Bhr;  // W_hh, W_gh, W_hr packed for the per-step products
};

template <typename T>
void BackwardPass<T>::allocate(const Tensor& x, const Outputs& g) {
  const auto opt = x.options();
  DH = g.h_n.defined() ? g.h_n.clone() : at::zeros({N, Hout}, opt);
  DC = g.c_n.defined() ? g.c_n.clone() : at::zeros({N, H}, opt);
  DA = c.fgr ? (g.a_n.defined() ? g.a_n.clone() : at::zeros({N, SH}, opt)) : Tensor();
  DAN = c.fgr ? at::empty({N, SH}, opt) : Tensor();
  DCN = at::empty({N, H}, opt);
  DHN = proj ? at::empty({L, N, Hout}, opt) : at::empty({N, Hout}, opt);
  DR = proj ? at::empty({N, H}, opt) : Tensor();
  RALL = proj ? at::empty({L, N, H}, opt) : Tensor();
  TMP = masks.h_mask.defined() ? at::empty({N, Hout}, opt) : Tensor();
  dP = at::empty({L, N, GH}, opt);
  dREC = c.ln ? at::empty({L, N, GH}, opt) : dP;
  dZS = c.fgr ? at::empty({L, N, SH}, opt) : Tensor();
  DHp = DH.data_ptr<T>(), DCp = DC.data_ptr<T>(), DAp = ptr<T>(DA), DANp = ptr<T>(DAN), DCNp = DCN.data_ptr<T>();
  DHNp = DHN.data_ptr<T>(), DRp = ptr<T>(DR), RALLp = ptr<T>(RALL);
  dPp = dP.data_ptr<T>(), dRECp = dREC.data_ptr<T>(), dZSp = ptr<T>(dZS);
}

template <typename T>
void BackwardPass<T>::pack(const Weights& w) {
  const auto opt = w.weight_hh.options();
  Bhh = at::empty({packed_size<T>(GH, Hout)}, opt);
  pack_b<T>(GH, Hout, w.weight_hh.data_ptr<T>(), Hout, 1, Bhh.data_ptr<T>());  // W_hh
  Bgh = c.fgr ? at::empty({packed_size<T>(SH, SH)}, opt) : Tensor();
  if (c.fgr) pack_b<T>(SH, SH, w.weight_gh.data_ptr<T>(), SH, 1, Bgh.data_ptr<T>());  // W_gh
  Bhr = proj ? at::empty({packed_size<T>(Hout, H)}, opt) : Tensor();
  if (proj) pack_b<T>(Hout, H, w.weight_hr.data_ptr<T>(), H, 1, Bhr.data_ptr<T>());  // W_hr
}

// Into row n of step t: the gradient reaching the step's new h (DHN) and c (DCN), and what
// passes straight to the previous state (zoneout's keep, padding). Returns the mask bit.
template <typename T>
bool BackwardPass<T>::into_step(int64_t t, int64_t n, T* ks) {
  const int64_t ro = t * N + n;
  T* dh = DHp + n * Hout;
  T* dc = DCp + n * H;
  if (mk && !mk[ro]) {  // the state passes through; the step's outputs (and returned states) are 0
    std::fill(dPp + ro * GH, dPp + (ro + 1) * GH, T(0));
    if (c.ln) std::fill(dRECp + ro * GH, dRECp + (ro + 1) * GH, T(0));
    if (c.fgr) std::fill(dZSp + ro * SH, dZSp + (ro + 1) * SH, T(0));
    if (proj) {
      std::fill(DHNp + ro * Hout, DHNp + (ro + 1) * Hout, T(0));
      std::fill(RALLp + ro * H, RALLp + (ro + 1) * H, T(0));
    }
    return false;
  }
  for (const T* d : {dYp, dHsp})
    if (d)
      for (int64_t j = 0; j < Hout; ++j) dh[j] += d[ro * Hout + j];
  zone_row_backward(keeps.h, t, n, dh, DHNp + (proj ? ro : n) * Hout, Hout, ks);
  if (dCsp)
    for (int64_t j = 0; j < H; ++j) dc[j] += dCsp[ro * H + j];
  zone_row_backward(keeps.c, t, n, dc, DCNp + n * H, H, ks);
  if (c.fgr) {
    T* da = DAp + n * SH;
    T* dan_row = DANp + n * SH;
    for (int64_t j = 0; j < SH; ++j) dan_row[j] = da[j] + (dAsp ? dAsp[ro * SH + j] : T(0));
    std::fill(da, da + SH, T(0));
  }
  return true;
}

// Recompute the row's c_new, phi (the output activation of c_new, or of its layer norm) and, with
// a projection, r = o * phi.
template <typename T>
void BackwardPass<T>::recompute(int64_t t, int64_t n, int64_t prev, const RowScratch<T>& r) {
  const T* cp = Cp + (prev * N + n) * H;
  const T* ao = act_of(t, n, c.bo);
  cell_update(c, cp, act_of(t, n, c.bi), act_of(t, n, c.bf), act_of(t, n, c.bg), r.cnew);
  const T* cin = r.cnew;
  if (c.ln) {
    const T* st = STp + (t * N + n) * 6;
    const T mc = st[4], rc = st[5];
    for (int64_t j = 0; j < H; ++j) {
      r.xc[j] = (r.cnew[j] - mc) * rc;
      r.phi[j] = r.xc[j] * p.ln_cw[j] + p.ln_cb[j];
    }
    cin = r.phi;
  }
  act_forward(c.act_h, cin, r.phi, H);
  if (proj) {
    T* rr = RALLp + (t * N + n) * H;
    if (ao)
      for (int64_t j = 0; j < H; ++j) rr[j] = ao[j] * r.phi[j];
    else
      std::copy(r.phi, r.phi + H, rr);
  }
}

// Through h = o * phi(c_new) (and the cell's layer norm): dL/dc_new into r.dct, dL/dz of o.
template <typename T>
void BackwardPass<T>::through_output(int64_t t, int64_t n, const RowScratch<T>& r, double* ac) {
  const T* ao = act_of(t, n, c.bo);
  const T* dr = proj ? DRp + n * H : DHNp + n * Hout;
  if (ao) {
    for (int64_t j = 0; j < H; ++j) {
      r.tmp[j] = dr[j] * r.phi[j];
      r.dct[j] = dr[j] * ao[j];
    }
  } else {
    std::copy(dr, dr + H, r.dct);
  }
  act_backward(c.act_h, r.phi, r.dct, r.dct, H);
  if (c.ln) {  // the cell's layer norm: its gain and shift, then back to c_new
    double* acw = ac + acc_at.ln_cw;
    double* acb = ac + acc_at.ln_cb;
    for (int64_t j = 0; j < H; ++j) {
      acw[j] += static_cast<double>(r.dct[j] * r.xc[j]);
      acb[j] += static_cast<double>(r.dct[j]);
    }
    ln_backward_row(r.dct, p.ln_cw, r.xc, STp[(t * N + n) * 6 + 5], r.g, r.dct, H);
  }
  const T* dcn_row = DCNp + n * H;
  for (int64_t j = 0; j < H; ++j) r.dct[j] += dcn_row[j];
  if (ao) {
    const T* ga = c.fgr ? DANp + n * SH + c.so * H : nullptr;
    const T* w = c.peep ? p.w_ch + c.so * H : nullptr;
    sigmoid_gate_backward(ao, r.tmp, ga, dz_of(t, n, r) + c.bo * H, w, r.cnew, r.dct, ac + acc_at.peep + c.so * H, H);
  }
}

// Through c_new = f * c_prev + i * g: dL/dc_prev (carried in DC) and dL/dz of g, i and f.
template <typename T>
void BackwardPass<T>::through_cell(int64_t t, int64_t n, int64_t prev, const RowScratch<T>& r, double* ac) {
  const T* ai = act_of(t, n, c.bi);
  const T* af = act_of(t, n, c.bf);
  const T* ag = act_of(t, n, c.bg);
  const T* cp = Cp + (prev * N + n) * H;
  const T* ga = c.fgr ? DANp + n * SH : nullptr;
  T* dc = DCp + n * H;
  T* dz = dz_of(t, n, r);
  const T* dct = r.dct;
  if (!c.fg)
    for (int64_t j = 0; j < H; ++j) dc[j] += dct[j];
  else if (c.coupled)
    for (int64_t j = 0; j < H; ++j) dc[j] += dct[j] * (T(1) - ai[j]);
  else
    for (int64_t j = 0; j < H; ++j) dc[j] += dct[j] * af[j];
  if (ai)
    for (int64_t j = 0; j < H; ++j) r.tmp[j] = dct[j] * ai[j];
  else
    std::copy(dct, dct + H, r.tmp);
  act_backward(c.act_g, ag, r.tmp, dz + c.bg * H, H);
  if (ai) {
    if (c.coupled)
      for (int64_t j = 0; j < H; ++j) r.tmp[j] = dct[j] * (ag[j] - cp[j]);
    else
      for (int64_t j = 0; j < H; ++j) r.tmp[j] = dct[j] * ag[j];
    sigmoid_gate_backward(ai, r.tmp, ga ? ga + c.si * H : nullptr, dz + c.bi * H, c.peep ? p.w_ch + c.si * H : nullptr,
                          cp, dc, ac + acc_at.peep + c.si * H, H);
  }
  if (af) {
    for (int64_t j = 0; j < H; ++j) r.tmp[j] = dct[j] * cp[j];
    sigmoid_gate_backward(af, r.tmp, ga ? ga + c.sf * H : nullptr, dz + c.bf * H, c.peep ? p.w_ch + c.sf * H : nullptr,
                          cp, dc, ac + acc_at.peep + c.sf * H, H);
  }
}

// From dL/dz to the products: the sigmoid gates side by side (for dW_gh and da_{t-1}), the bias,
// and with layer norm z = LN(P) * ln_ih + LN(REC) * ln_hh + b: dP, dREC and the gains.
template <typename T>
void BackwardPass<T>::to_products(int64_t t, int64_t n, const RowScratch<T>& r, double* ac) {
  const int64_t ro = t * N + n;
  const T* dz = dz_of(t, n, r);
  if (c.fgr)
    for (int k = 0; k < c.nsig; ++k)
      std::copy(dz + c.sig_z[k] * H, dz + (c.sig_z[k] + 1) * H, dZSp + ro * SH + c.sig_s[k] * H);
  double* ab = ac + acc_at.bias;
  for (int64_t j = 0; j < GH; ++j) ab[j] += static_cast<double>(dz[j]);
  if (!c.ln) return;
  const T* st = STp + ro * 6;
  const T* pr = Pp + ro * GH;
  const T* rr = RECp + ro * GH;
  double* ali = ac + acc_at.ln_ih;
  double* alh = ac + acc_at.ln_hh;
  for (int64_t j = 0; j < GH; ++j) r.xh[j] = (pr[j] - st[0]) * st[1];
  for (int64_t j = 0; j < GH; ++j) ali[j] += static_cast<double>(dz[j] * r.xh[j]);
  ln_backward_row(dz, p.ln_ih, r.xh, st[1], r.g, dPp + ro * GH, GH);
  for (int64_t j = 0; j < GH; ++j) r.xh[j] = (rr[j] - st[2]) * st[3];
  for (int64_t j = 0; j < GH; ++j) alh[j] += static_cast<double>(dz[j] * r.xh[j]);
  ln_backward_row(dz, p.ln_hh, r.xh, st[3], r.g, dRECp + ro * GH, GH);
}

// Step s of the walk back (t = s, or L-1-s in reverse): the rows, then the products for dh_{t-1}
// (and da_{t-1}).
template <typename T>
void BackwardPass<T>::step(int64_t s) {
  const int64_t t = c.reverse ? L - 1 - s : s;
  const int64_t prev = c.reverse ? t + 1 : t;  // slot of the state before step t
  const int64_t kw = std::max(H, Hout);        // a keep row
  if (proj) {
    at::parallel_for(0, N, row_grain(Hout), [&](int64_t n0, int64_t n1) {
      std::vector<T> ks(kw);
      for (int64_t n = n0; n < n1; ++n) into_step(t, n, ks.data());
    });
    gemm_packed<T>(N, H, Hout, DHNp + t * N * Hout, Hout, Bhr.data_ptr<T>(), DRp, H, false);
  }
  const int64_t scratch_size = RowScratch<T>::size(H, GH) + kw;
  at::parallel_for(0, N, row_grain(GH), [&](int64_t n0, int64_t n1) {
    std::vector<T> scratch(scratch_size);
    const RowScratch<T> r(scratch.data(), H, GH);
    double* ac = acc.data() + static_cast<size_t>(at::get_thread_num()) * acc_at.size;
    for (int64_t n = n0; n < n1; ++n) {
      const bool m = proj ? (mk ? mk[t * N + n] : true) : into_step(t, n, scratch.data() + scratch_size - kw);
      if (!m) continue;
      recompute(t, n, prev, r);
      through_output(t, n, r, ac);
      through_cell(t, n, prev, r, ac);
      to_products(t, n, r, ac);
    }
  });
  const T* dRECt = dRECp + t * N * GH;
  if (hmask) {
    T* tmp = TMP.data_ptr<T>();
    gemm_packed<T>(N, Hout, GH, dRECt, GH, Bhh.data_ptr<T>(), tmp, Hout, false);
    for (int64_t e = 0; e < N * Hout; ++e) DHp[e] += tmp[e] * hmask[e];
  } else {
    gemm_packed<T>(N, Hout, GH, dRECt, GH, Bhh.data_ptr<T>(), DHp, Hout, true);
  }
  if (c.fgr)
    gemm_packed<T>(N, SH, SH, dZSp + t * N * SH, SH, Bgh.data_ptr<T>(), DAp, SH, true);
}

// The sum over threads of accumulators [offset, offset + len).
template <typename T>
Tensor BackwardPass<T>::reduce(int64_t offset, int64_t len, const at::TensorOptions& opt) const {
  Tensor out = at::empty({len}, opt);
  T* o = out.data_ptr<T>();
  for (int64_t j = 0; j < len; ++j) {
    double sum = 0;
    for (int th = 0; th < nthreads; ++th) sum += acc[static_cast<size_t>(th) * acc_at.size + offset + j];
    o[j] = static_cast<T>(sum);
  }
  return out;
}

// After the loop: dX and the weight gradients as large products over all steps, the accumulated
// ones summed over threads.
template <typename T>
Gradients BackwardPass<T>::finish(const Tensor& x, const Weights& w, const Wanted& wanted) {
  const auto opt = x.options();
  const int64_t I = x.size(2);
  Gradients d;
  const Tensor dP2 = dP.view({L * N, GH});
  if (wanted.x) {
    d.x = at::empty({L, N, I}, opt);
    gemm(d.x.view({L * N, I}), dP2, w.weight_ih, false);
  }
  d.h0 = DH;
  d.c0 = DC;
  if (c.fgr) d.a0 = DA;
  if (wanted.weight_ih) {
    d.weight_ih = at::empty({GH, I}, opt);
    gemm(d.weight_ih, dP2.t(), x.view({L * N, I}), false);
  }
  if (wanted.weight_hh) {  // the h-product's input: h_{t-1} of every step, dropout mask applied
    const Tensor h_prev = saved.h_all.narrow(0, c.reverse ? 1 : 0, L);
    const Tensor h_in = masks.h_mask.defined() ? h_prev * masks.h_mask : h_prev;
    d.weight_hh = at::empty({GH, Hout}, opt);
    gemm(d.weight_hh, dREC.view({L * N, GH}).t(), h_in.reshape({L * N, Hout}), false);
  }
  if (proj && wanted.weight_hr) {
    d.weight_hr = at::empty({Hout, H}, opt);
    gemm(d.weight_hr, DHN.view({L * N, Hout}).t(), RALL.view({L * N, H}), false);
  }
  if (c.fgr && wanted.weight_gh) {
    d.weight_gh = at::empty({SH, SH}, opt);
    const Tensor a_prev = saved.a_all.narrow(0, c.reverse ? 1 : 0, L);
    gemm(d.weight_gh, dZS.view({L * N, SH}).t(), a_prev.reshape({L * N, SH}), false);
  }
  if (w.bias_ih.defined() || w.bias_hh.defined()) {
    const Tensor db = reduce(acc_at.bias, GH, opt);
    if (w.bias_ih.defined()) d.bias_ih = db;
    if (w.bias_hh.defined()) d.bias_hh = w.bias_ih.defined() ? db.clone() : db;
  }
  if (c.peep && wanted.weight_ch) d.weight_ch = reduce(acc_at.peep, c.S * H, opt).view({c.S, H});
  if (c.ln) {
    d.ln_ih_weight = reduce(acc_at.ln_ih, GH, opt);
    d.ln_hh_weight = reduce(acc_at.ln_hh, GH, opt);
    d.ln_c_weight = reduce(acc_at.ln_cw, H, opt);
    d.ln_c_bias = reduce(acc_at.ln_cb, H, opt);
  }
  return d;
}

}  // namespace

Gradients lstm_backward(const KernelConfig& cfg, const Outputs& grads, const Tensor& x_, const Weights& w_,
                        const Masks& masks, const Saved& saved_, const Wanted& wanted) {
  const Tensor x = x_.contiguous();
  const Weights w = contiguous(w_);
  const Saved saved = contiguous(saved_);
  const Outputs g = contiguous(grads);
  const Masks m = contiguous_masks(masks);
  const Cell c = make_cell(cfg, saved.c_all.size(2), saved.h_all.size(2));
  at::NoGradGuard no_grad;
  Gradients out;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_backward", [&] {
    BackwardPass<scalar_t> pass(c, cfg, g, x, w, m, saved);
    for (int64_t s = x.size(0) - 1; s >= 0; --s) pass.step(s);
    out = pass.finish(x, w, wanted);
  });
  std::vector<bool> keep;  // (some gradients are computed on the way, wanted or not)
  wanted.each([&](const char*, bool flag) { keep.push_back(flag); });
  size_t i = 0;
  out.each([&](const char*, Tensor& t) {
    if (!keep[i++]) t = Tensor();
  });
  return out;
}

}  // namespace lstmkit
