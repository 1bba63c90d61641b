// The forward pass over a sequence (lstm_forward, kernels.h).
//
// Shape of the work (as cuDNN and haste do it): the input product X W_ih^T of all steps in one
// matrix product (or step by step, fused with the recurrent product); per step one recurrent
// product, then all pointwise gate math of the step in one pass over each batch row (cell.h); the
// gate activations saved once.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "cell.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "kernels.h"
#include "qgemm.h"
#include "zoneout.h"

namespace lstmkit {
namespace {

// Where step t reads and writes the state: slots of h_all (hp before, ha after) and of the c / FGR
// buffers (cp, ca), which hold two slots only when neither the backward pass nor the caller needs
// every step's state.
struct Slots {
  int64_t hp, ha, cp, ca;
};

template <typename T>
class ForwardPass {
 public:
  // q: the int8 weights (lstm_forward_int8: their products run in int8), or null
  ForwardPass(const Cell& cell, const KernelConfig& cfg, const Tensor& x, const Weights& w, const Masks& m, bool save,
              const QLayer* q = nullptr)
      : c(cell), p(params_of<T>(w)), L(x.size(0)), N(x.size(1)), I(x.size(2)), H(cell.H), Hout(cell.Hout),
        GH(cell.GH), SH(cell.SH), proj(w.weight_hr.defined() || (q && q->hr.defined())), save(save),
        full(save || cfg.need_states), every_act(save || cfg.need_gates), need_gates(cfg.need_gates),
        whole(q || cell.ln || x.size(1) < 8), q(q),
        keeps(m, x.size(1), cell.Hout, cell.H, cfg.zoneout_h, cfg.zoneout_c, cfg.seeds) {
    allocate(x, m);
    pack(x, w);
    mk = ptr<bool>(m.mask);
    hmask = ptr<T>(m.h_mask);
    c_direct = !mk && keeps.c.mode == 0;
    h_direct = !mk && keeps.h.mode == 0 && !proj;
    Pp = P.data_ptr<T>(), Hp = Hbuf.data_ptr<T>(), Cp = Cbuf.data_ptr<T>(), Ap = ptr<T>(Abuf);
    ACTp = ACT.data_ptr<T>(), STp = ptr<T>(STATS), Yp = ptr<T>(Y), RECp = ptr<T>(REC), FGp = ptr<T>(FG);
    CNp = CN.data_ptr<T>(), Rp = R.data_ptr<T>(), HNp = ptr<T>(HN);
  }

  // Load the initial state into the slots of the first step.
  void start(const Tensor& h0, const Tensor& c0, const Tensor& a0) {
    Hbuf[c.reverse ? L : 0].copy_(h0);
    Cbuf[full && c.reverse ? L : 0].copy_(c0);
    if (c.fgr) Abuf[full && c.reverse ? L : 0].copy_(a0);
  }

  // Step s of the walk (t = s, or L-1-s in reverse): products, then the rows, then the projection.
  void step(int64_t s) {
    const int64_t t = c.reverse ? L - 1 - s : s;
    const Slots sl{hslot(t, false), hslot(t, true), cslot(s, t, false), cslot(s, t, true)};
    products(t, sl);
    const int64_t kw = std::max(H, Hout);  // keep-row scratch
    at::parallel_for(0, N, row_grain(GH), [&](int64_t n0, int64_t n1) {
      std::vector<T> zs(c.ln && save ? GH : 0), ks(kw);
      for (int64_t n = n0; n < n1; ++n) row(t, n, sl, zs.empty() ? nullptr : zs.data(), ks.data());
    });
    if (proj) project(t, sl);
  }

  Forward finish(bool need_states, const Tensor& mask);

 private:
  int64_t hslot(int64_t t, bool after) const { return c.reverse ? (after ? t : t + 1) : (after ? t + 1 : t); }
  int64_t cslot(int64_t s, int64_t t, bool after) const {
    return full ? hslot(t, after) : (after ? (s + 1) % 2 : s % 2);
  }
  void allocate(const Tensor& x, const Masks& m);
  void pack(const Tensor& x, const Weights& w);
  void products(int64_t t, const Slots& sl);
  void row(int64_t t, int64_t n, const Slots& sl, T* zs, T* ks);
  void project(int64_t t, const Slots& sl);

  const Cell& c;
  const Params<T> p;
  const int64_t L, N, I, H, Hout, GH, SH;
  const bool proj, save, full;
  const bool every_act, need_gates;  // ACT holds every step's activations; they are returned
  // The input product: all steps in one product P (L, N, GH) when layer norm keeps it for the
  // backward pass or the batch is so small that every step would re-read W_ih for a few rows;
  // else per step, with the recurrent product, into a (N, GH) buffer (the same packed kernel; no
  // (L, N, GH) buffer to allocate, write and read back).
  const bool whole;
  const QLayer* q;  // the int8 weights, or null (float products)
  QRows qrows;      // the int8 path's quantized activations (reused by every product)
  const StateKeeps<T> keeps;
  const bool* mk = nullptr;
  const T* hmask = nullptr;
  const T* Xp = nullptr;
  bool c_direct = false, h_direct = false;  // c_new / r is the state itself (no mask, no zoneout)
  Tensor P, Hbuf, Cbuf, Abuf, ACT, STATS, Y, REC, FG, HM, CN, R, HN;  // the buffers (allocate)
  T *Pp, *Hp, *Cp, *Ap, *ACTp, *STp, *Yp, *RECp, *FGp, *CNp, *Rp, *HNp;  // and their data
  Tensor Bih, Bhh, Bgh, Bhr;  // the weights of the per-step products, packed (pack)
};

template <typename T>
void ForwardPass<T>::allocate(const Tensor& x, const Masks& m) {
  const auto opt = x.options();
  P = at::empty({whole ? L : 1, N, GH}, opt);
  Hbuf = at::empty({L + 1, N, Hout}, opt);
  Cbuf = at::empty({full ? L + 1 : 2, N, H}, opt);
  Abuf = c.fgr ? at::empty({full ? L + 1 : 2, N, SH}, opt) : Tensor();
  ACT = at::empty({every_act ? L : 1, N, GH}, opt);
  STATS = c.ln ? at::empty({save ? L : 1, N, 6}, opt) : Tensor();
  Y = m.mask.defined() ? at::zeros({L, N, Hout}, opt) : Tensor();
  // layer norm keeps the raw products for the backward pass (x-product P, h-product REC)
  REC = c.ln ? at::empty({save ? L : 1, N, GH}, opt) : Tensor();
  FG = c.fgr ? at::empty({N, SH}, opt) : Tensor();
  HM = m.h_mask.defined() ? at::empty({N, Hout}, opt) : Tensor();
  CN = at::empty({N, H}, opt);
  R = at::empty({N, H}, opt);
  HN = proj ? at::empty({N, Hout}, opt) : Tensor();
}

template <typename T>
void ForwardPass<T>::pack(const Tensor& x, const Weights& w) {
  const auto opt = x.options();
  if (q) {  // int8: the input product of all steps in one product; the others per step
    Xp = x.data_ptr<T>();
    qproduct<T>(q->ih, qrows, L * N, Xp, I, P.data_ptr<T>(), GH, false);
    return;
  }
  if (whole) gemm(P.view({L * N, GH}), x.view({L * N, I}), w.weight_ih.t(), false);
  Bih = whole ? Tensor() : at::empty({packed_size<T>(I, GH)}, opt);
  if (!whole) pack_b<T>(I, GH, w.weight_ih.data_ptr<T>(), 1, I, Bih.data_ptr<T>());  // W_ih^T
  Xp = x.data_ptr<T>();
  Bhh = at::empty({packed_size<T>(Hout, GH)}, opt);
  pack_b<T>(Hout, GH, w.weight_hh.data_ptr<T>(), 1, Hout, Bhh.data_ptr<T>());  // W_hh^T
  Bgh = c.fgr ? at::empty({packed_size<T>(SH, SH)}, opt) : Tensor();
  if (c.fgr) pack_b<T>(SH, SH, w.weight_gh.data_ptr<T>(), 1, SH, Bgh.data_ptr<T>());  // W_gh^T
  Bhr = proj ? at::empty({packed_size<T>(H, Hout)}, opt) : Tensor();
  if (proj) pack_b<T>(H, Hout, w.weight_hr.data_ptr<T>(), 1, H, Bhr.data_ptr<T>());  // W_hr^T
}

// The step's matrix products: the recurrent one (with the input one, step by step), and FGR's.
template <typename T>
void ForwardPass<T>::products(int64_t t, const Slots& sl) {
  const T* h_in = Hp + sl.hp * N * Hout;
  if (hmask) {
    T* hm = HM.data_ptr<T>();
    for (int64_t e = 0; e < N * Hout; ++e) hm[e] = h_in[e] * hmask[e];
    h_in = hm;
  }
  if (q) {  // layer norm keeps the two products apart
    T* out = c.ln ? RECp + (save ? t : 0) * N * GH : Pp + t * N * GH;
    qproduct<T>(q->hh, qrows, N, h_in, Hout, out, GH, !c.ln);
    if (c.fgr) qproduct<T>(q->gh, qrows, N, Ap + sl.cp * N * SH, SH, FGp, SH, false);
    return;
  }
  if (c.ln) {
    gemm_packed<T>(N, GH, Hout, h_in, Hout, Bhh.data_ptr<T>(), RECp + (save ? t : 0) * N * GH, GH, false);
  } else if (whole) {
    gemm_packed<T>(N, GH, Hout, h_in, Hout, Bhh.data_ptr<T>(), Pp + t * N * GH, GH, true);
  } else {
    const Term<T> terms[2] = {{Xp + t * N * I, I, Bih.data_ptr<T>(), I}, {h_in, Hout, Bhh.data_ptr<T>(), Hout}};
    gemm_packed_terms<T>(N, GH, terms, 2, Pp, GH, false);
  }
  if (c.fgr) gemm_packed<T>(N, SH, SH, Ap + sl.cp * N * SH, SH, Bgh.data_ptr<T>(), FGp, SH, false);
}

// Row n of step t: the gate math, zoneout, the new state (a padded row keeps the state).
// zs: [GH] scratch for the normalized pre-activations (null: normalize in place); ks: a keep row.
template <typename T>
void ForwardPass<T>::row(int64_t t, int64_t n, const Slots& sl, T* zs, T* ks) {
  const T* c_prev = Cp + (sl.cp * N + n) * H;
  T* c_out = Cp + (sl.ca * N + n) * H;
  const T* h_prv = Hp + (sl.hp * N + n) * Hout;
  T* h_out = Hp + (sl.ha * N + n) * Hout;
  if (mk && !mk[t * N + n]) {  // padding: the state passes through, the output stays 0
    std::copy(c_prev, c_prev + H, c_out);
    if (!proj) std::copy(h_prv, h_prv + Hout, h_out);
    if (c.fgr) std::copy(Ap + (sl.cp * N + n) * SH, Ap + (sl.cp * N + n + 1) * SH, Ap + (sl.ca * N + n) * SH);
    return;
  }
  const int64_t ts = (save ? t : 0) * N + n;  // row of the saved per-step buffers
  T* act = ACTp + ((every_act ? t : 0) * N + n) * GH;
  T* cnew = c_direct ? c_out : CNp + n * H;
  T* r = h_direct ? h_out : Rp + n * H;
  T* st = c.ln ? STp + ts * 6 : nullptr;
  T* z = Pp + ((whole ? t : 0) * N + n) * GH;
  const T* rec = c.ln ? RECp + ts * GH : nullptr;
  gates_row<T>(c, p, z, rec, c.fgr ? FGp + n * SH : nullptr, c_prev, act, cnew, r, st, zs ? zs : z);
  if (!c_direct) zone_row(keeps.c, t, n, c_prev, cnew, c_out, H, ks);
  if (c.fgr) gates_state_row(c, act, Ap + (sl.ca * N + n) * SH);
  if (!proj && !h_direct) {
    zone_row(keeps.h, t, n, h_prv, r, h_out, Hout, ks);
    if (Yp) std::copy(h_out, h_out + Hout, Yp + (t * N + n) * Hout);
  }
}

// The projection h = r W_hr^T of step t, then zoneout of h.
template <typename T>
void ForwardPass<T>::project(int64_t t, const Slots& sl) {
  if (q)
    qproduct<T>(q->hr, qrows, N, Rp, H, HNp, Hout, false);
  else
    gemm_packed<T>(N, Hout, H, Rp, H, Bhr.data_ptr<T>(), HNp, Hout, false);
  at::parallel_for(0, N, row_grain(Hout), [&](int64_t n0, int64_t n1) {
    std::vector<T> ks(std::max(H, Hout));
    for (int64_t n = n0; n < n1; ++n) {
      const T* h_prv = Hp + (sl.hp * N + n) * Hout;
      T* h_out = Hp + (sl.ha * N + n) * Hout;
      if (mk && !mk[t * N + n]) {
        std::copy(h_prv, h_prv + Hout, h_out);
        continue;
      }
      zone_row(keeps.h, t, n, h_prv, HNp + n * Hout, h_out, Hout, ks.data());
      if (Yp) std::copy(h_out, h_out + Hout, Yp + (t * N + n) * Hout);
    }
  });
}

// The outputs, every step's state if asked (zero at padded steps, as the runner returns them),
// and what the backward pass needs (save).
template <typename T>
Forward ForwardPass<T>::finish(bool need_states, const Tensor& mask) {
  const int64_t first = c.reverse ? 0 : 1, last = c.reverse ? 0 : L, clast = full ? last : L % 2;
  Forward f;
  Outputs& o = f.outputs;
  o.output = Y.defined() ? Y : Hbuf.narrow(0, first, L);
  o.h_n = Hbuf[last];
  o.c_n = Cbuf[clast];
  if (c.fgr) o.a_n = Abuf[clast];
  if (need_states) {
    o.h_states = Hbuf.narrow(0, first, L);
    o.c_states = Cbuf.narrow(0, first, L);
    if (c.fgr) o.a_states = Abuf.narrow(0, first, L);
    if (mask.defined()) {
      const Tensor m3 = mask.unsqueeze(-1);
      o.h_states = Y.clone();
      o.c_states = at::where(m3, o.c_states, at::Scalar(0));
      if (c.fgr) o.a_states = at::where(m3, o.a_states, at::Scalar(0));
    }
  }
  if (need_gates) o.gate_states = mask.defined() ? at::where(mask.unsqueeze(-1), ACT, at::Scalar(0)) : ACT;
  if (save) f.saved = Saved{Hbuf, Cbuf, Abuf, ACT, STATS, c.ln ? P : Tensor(), REC};
  return f;
}

}  // namespace

static void check_inputs(const Cell& c, const KernelConfig& cfg, const Tensor& x, const Tensor& h0, const Tensor& c0,
                         const Tensor& a0, const Weights& w, const Masks& m) {
  TORCH_CHECK(x.device().is_cpu(), "lstmkit fused: CPU tensors only");
  auto check = [&](const char* name, const Tensor& t) {
    if (!t.defined() || std::string(name) == "mask") return;
    TORCH_CHECK(t.scalar_type() == x.scalar_type(), "lstmkit fused: ", name, " has dtype ", t.scalar_type(),
                ", expected ", x.scalar_type());
    TORCH_CHECK(t.device().is_cpu(), "lstmkit fused: ", name, " must be on the CPU");
  };
  check("h0", h0);
  check("c0", c0);
  check("a0", a0);
  w.each(check);
  m.each(check);
  TORCH_CHECK(w.weight_ih.defined() && w.weight_hh.defined() && w.weight_ih.size(0) == c.GH &&
                  w.weight_hh.size(0) == c.GH && w.weight_hh.size(1) == c.Hout && w.weight_ih.size(1) == x.size(2),
              "lstmkit fused: weight shapes do not match the spec");
  TORCH_CHECK(!c.fgr || a0.defined(), "lstmkit fused: FGR needs a0");
  TORCH_CHECK(!m.mask.defined() || m.mask.scalar_type() == at::kBool, "lstmkit fused: mask must be bool");
  TORCH_CHECK(cfg.seeds.empty() || cfg.seeds.size() == 4, "lstmkit fused: seeds must be 4 integers");
}

Forward lstm_forward(const KernelConfig& cfg, const Tensor& x_, const Tensor& h0_, const Tensor& c0_, const Tensor& a0_,
                     const Weights& w_, const Masks& masks, bool save) {
  TORCH_CHECK(x_.dim() == 3, "lstmkit fused: x must be (L, N, I)");
  const Tensor x = x_.contiguous(), h0 = h0_.contiguous(), c0 = c0_.contiguous();
  const Cell c = make_cell(cfg, c0.size(1), h0.size(1));
  check_inputs(c, cfg, x, h0, c0, a0_, w_, masks);
  const Tensor a0 = a0_.defined() ? a0_.contiguous() : Tensor();
  const Weights w = contiguous(w_);
  const Masks m = contiguous_masks(masks);
  at::NoGradGuard no_grad;
  Forward out;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_forward", [&] {
    ForwardPass<scalar_t> pass(c, cfg, x, w, m, save);
    pass.start(h0, c0, a0);
    for (int64_t s = 0; s < x.size(0); ++s) pass.step(s);
    out = pass.finish(cfg.need_states, m.mask);
  });
  return out;
}

// The int8 weights match the cell and the input (shapes as in tensors.h).
static void check_int8(const Cell& c, const Tensor& x, const QLayer& q) {
  TORCH_CHECK_VALUE(x.scalar_type() == at::kFloat, "lstmkit int8: expected a float32 input, got ", x.scalar_type());
  auto check = [](const char* name, const QMatrix& m, bool wanted, int64_t R, int64_t K) {
    TORCH_CHECK_VALUE(m.defined() == wanted, "lstmkit int8: ", name, wanted ? " missing" : " not expected here");
    TORCH_CHECK_VALUE(!wanted || (m.R == R && m.K == K), "lstmkit int8: ", name, ": expected (", R, ", ", K,
                      "), got (", m.R, ", ", m.K, ")");
  };
  check("weight_ih", q.ih, true, c.GH, x.size(2));
  check("weight_hh", q.hh, true, c.GH, c.Hout);
  check("weight_gh", q.gh, c.fgr, c.SH, c.SH);
  check("weight_hr", q.hr, c.Hout != c.H || q.hr.defined(), c.Hout, c.H);
}

Forward lstm_forward_int8(const KernelConfig& cfg, const Tensor& x_, const Tensor& h0_, const Tensor& c0_,
                          const Tensor& a0_, const Weights& w_, const QLayer& q, const Masks& masks) {
  TORCH_CHECK_VALUE(x_.dim() == 3, "lstmkit int8: x must be (L, N, I)");
  TORCH_CHECK_VALUE(x_.device().is_cpu(), "lstmkit int8: CPU tensors only, got ", x_.device());
  const Tensor x = x_.contiguous(), h0 = h0_.contiguous(), c0 = c0_.contiguous();
  const Cell c = make_cell(cfg, c0.size(1), h0.size(1));
  check_int8(c, x, q);
  TORCH_CHECK_VALUE(!w_.weight_ih.defined() && !w_.weight_hh.defined() && !w_.weight_gh.defined() &&
                        !w_.weight_hr.defined(),
                    "lstmkit int8: the matrices come as int8 weights, not in weights");
  TORCH_CHECK_VALUE(!c.fgr || a0_.defined(), "lstmkit int8: FGR needs a0");
  for (const Tensor* t : {&h0, &c0, &a0_})
    TORCH_CHECK_VALUE(!t->defined() || t->scalar_type() == at::kFloat, "lstmkit int8: the state must be float32");
  const Tensor a0 = a0_.defined() ? a0_.contiguous() : Tensor();
  const Weights w = contiguous(w_);
  const Masks m = contiguous_masks(masks);
  at::NoGradGuard no_grad;
  ForwardPass<float> pass(c, cfg, x, w, m, false, &q);
  pass.start(h0, c0, a0);
  for (int64_t s = 0; s < x.size(0); ++s) pass.step(s);
  return pass.finish(cfg.need_states, m.mask);
}

}  // namespace lstmkit
