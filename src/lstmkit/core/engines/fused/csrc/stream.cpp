// The streaming step (stream.h).

#include "stream.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <string>

#include "cell.h"
#include "gemm_kernel.h"
#include "zoneout.h"

namespace lstmkit {

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

// Zoneout's evaluation form: one constant keep weight z (none when z = 0).
template <typename T>
static Keep<T> evaluation_keep(double z) {
  Keep<T> k;
  if (z > 0) k.mode = 1, k.value = static_cast<T>(z);
  return k;
}

StreamRuntime::StreamRuntime(const KernelConfig& cfg, std::vector<Weights> layers, Tensor h, Tensor c, Tensor a,
                             int64_t input_size)
    : h_(std::move(h)), c_(std::move(c)), a_(std::move(a)), cell_(make_cell(cfg, c_.size(2), h_.size(2))),
      zh_(cfg.zoneout_h), zc_(cfg.zoneout_c), input_size_(input_size) {
  n_layers_ = h_.size(0);
  N_ = h_.size(1);
  TORCH_CHECK(h_.is_contiguous() && c_.is_contiguous() && (!a_.defined() || a_.is_contiguous()),
              "lstmkit stream: state buffers must be contiguous");
  const auto opt = h_.options();
  z_ = at::empty({N_, cell_.GH}, opt);
  rec_ = at::empty({N_, cell_.GH}, opt);
  fg_ = at::empty({N_, std::max<int64_t>(cell_.SH, 1)}, opt);
  act_ = at::zeros({n_layers_, N_, cell_.GH}, opt);  // each layer's activations (gates())
  cn_ = at::empty({N_, cell_.H}, opt);
  r_ = at::empty({N_, cell_.H}, opt);
  hn_ = at::empty({N_, cell_.Hout}, opt);
  stats_ = at::empty({N_, 6}, opt);
  rebind(std::move(layers));
}

void StreamRuntime::rebind(std::vector<Weights> layers) {
  TORCH_CHECK(static_cast<int64_t>(layers.size()) == n_layers_, "lstmkit stream: expected the weights of ", n_layers_,
              " layers, got ", layers.size());
  layers_.clear();
  for (auto& w : layers) layers_.push_back(contiguous(std::move(w)));
  packed_.assign(4 * n_layers_, Packed());
}

void StreamRuntime::set_int8(std::vector<QLayer> layers) {
  TORCH_CHECK_VALUE(static_cast<int64_t>(layers.size()) == n_layers_, "lstmkit stream: expected the int8 weights of ",
                    n_layers_, " layers, got ", layers.size());
  TORCH_CHECK_VALUE(h_.scalar_type() == at::kFloat, "lstmkit stream: int8 products need a float32 state");
  const Cell& c = cell_;
  for (int64_t l = 0; l < n_layers_; ++l) {
    const QLayer& q = layers[l];
    const int64_t in = l == 0 ? input_size_ : c.Hout;
    TORCH_CHECK_VALUE(q.ih.R == c.GH && q.ih.K == in && q.hh.R == c.GH && q.hh.K == c.Hout &&
                          q.gh.defined() == c.fgr && (q.hr.defined() || c.Hout == c.H),
                      "lstmkit stream: the int8 weights of layer ", l, " do not match the cell");
  }
  q_ = std::move(layers);
}

void StreamRuntime::refresh() {
  for (auto& p : packed_) p = Packed();
}

Tensor StreamRuntime::step(const Tensor& x, const Tensor& out) {
  TORCH_CHECK_VALUE(x.dim() == 2 && x.size(0) == N_, "x: expected shape (", N_, ", ", input_size_,
                    ") (N, H_in), got ", x.sizes());
  TORCH_CHECK_VALUE(x.size(1) == input_size_, "x: expected ", input_size_, " features (input_size), got ",
                    x.size(1));
  TORCH_CHECK_TYPE(x.scalar_type() == h_.scalar_type() && x.device() == h_.device(), "x: expected ",
                   dtype_name(h_.scalar_type()), " on ", h_.device(), " (the layer's), got ",
                   dtype_name(x.scalar_type()), " on ", x.device());
  const int64_t Hout = cell_.Hout;
  Tensor o = out.defined() ? out : at::empty({N_, Hout}, h_.options());
  TORCH_CHECK_VALUE(o.dim() == 2 && o.size(0) == N_ && o.size(1) == Hout && o.is_contiguous() &&
                        o.scalar_type() == h_.scalar_type(),
                    "out: expected a contiguous (", N_, ", ", Hout, ") tensor of ", dtype_name(h_.scalar_type()));
  at::NoGradGuard no_grad;
  const Tensor xc = x.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstmkit_stream", [&] {
    const scalar_t* inp = xc.data_ptr<scalar_t>();
    int64_t in_size = input_size_;
    for (int64_t l = 0; l < n_layers_; ++l) {
      layer_step<scalar_t>(l, inp, in_size);
      inp = h_.data_ptr<scalar_t>() + l * N_ * Hout;
      in_size = Hout;
    }
    std::copy(inp, inp + N_ * Hout, o.data_ptr<scalar_t>());
  });
  return o;
}

// The packed transpose of weight w (R x K): the right-hand side of y = x w^T.
template <typename T>
const T* StreamRuntime::packed(int64_t slot, const Tensor& w) {
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

// One step of layer l on its input inp (N x in_size): the products, the rows, the projection.
template <typename T>
void StreamRuntime::layer_step(int64_t l, const T* inp, int64_t in_size) {
  const Cell& c = cell_;
  const int64_t N = N_, H = c.H, Hout = c.Hout, GH = c.GH, SH = c.SH;
  const Weights& w = layers_[l];
  const bool proj = w.weight_hr.defined() || (!q_.empty() && q_[l].hr.defined());
  const Keep<T> kh = evaluation_keep<T>(zh_), kc = evaluation_keep<T>(zc_);
  const Params<T> p = params_of<T>(w);
  T *zp = z_.data_ptr<T>(), *recp = rec_.data_ptr<T>(), *fgp = fg_.data_ptr<T>(), *actp = act_.data_ptr<T>() + l * N * GH;
  T *cnp = cn_.data_ptr<T>(), *rp = r_.data_ptr<T>(), *stp = stats_.data_ptr<T>(), *hn = hn_.data_ptr<T>();
  T* hp = h_.data_ptr<T>() + l * N * Hout;
  T* cp = c_.data_ptr<T>() + l * N * H;
  T* ap = c.fgr ? a_.data_ptr<T>() + l * N * SH : nullptr;
  if (!q_.empty()) {
    int8_layer_products(l, inp, in_size);
  } else if (c.ln) {
    gemm_packed<T>(N, GH, in_size, inp, in_size, packed<T>(4 * l, w.weight_ih), zp, GH, false);
    gemm_packed<T>(N, GH, Hout, hp, Hout, packed<T>(4 * l + 1, w.weight_hh), recp, GH, false);
  } else {
    const Term<T> terms[2] = {{inp, in_size, packed<T>(4 * l, w.weight_ih), in_size},
                              {hp, Hout, packed<T>(4 * l + 1, w.weight_hh), Hout}};
    gemm_packed_terms<T>(N, GH, terms, 2, zp, GH, false);
  }
  if (c.fgr && q_.empty()) gemm_packed<T>(N, SH, SH, ap, SH, packed<T>(4 * l + 2, w.weight_gh), fgp, SH, false);
  at::parallel_for(0, N, row_grain(GH), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* c_row = cp + n * H;
      T* cnew = cnp + n * H;
      T* rr = rp + n * H;
      T* actr = actp + n * GH;
      gates_row<T>(c, p, zp + n * GH, c.ln ? recp + n * GH : nullptr, c.fgr ? fgp + n * SH : nullptr, c_row, actr,
                   cnew, rr, stp + n * 6, zp + n * GH);
      zone_row(kc, 0, n, c_row, cnew, c_row, H, static_cast<T*>(nullptr));
      if (ap) gates_state_row(c, actr, ap + n * SH);
      if (!proj) zone_row(kh, 0, n, hp + n * Hout, rr, hp + n * Hout, Hout, static_cast<T*>(nullptr));
    }
  });
  if (proj) {
    if (q_.empty())
      gemm_packed<T>(N, Hout, H, rp, H, packed<T>(4 * l + 3, w.weight_hr), hn, Hout, false);
    else
      qproduct<T>(q_[l].hr, qrows_, N, rp, H, hn, Hout, false);
    for (int64_t n = 0; n < N; ++n) zone_row(kh, 0, n, hp + n * Hout, hn + n * Hout, hp + n * Hout, Hout, static_cast<T*>(nullptr));
  }
}

// The int8 products of layer l's step (set_int8): as the forward pass makes them, so a sequence
// streamed step by step gives lstm_forward_int8's outputs.
template <typename T>
void StreamRuntime::int8_layer_products(int64_t l, const T* inp, int64_t in_size) {
  const Cell& c = cell_;
  const int64_t N = N_, GH = c.GH, SH = c.SH, Hout = c.Hout;
  const QLayer& q = q_[l];
  T *zp = z_.data_ptr<T>(), *recp = rec_.data_ptr<T>();
  const T* hp = h_.data_ptr<T>() + l * N * Hout;
  qproduct<T>(q.ih, qrows_, N, inp, in_size, zp, GH, false);
  qproduct<T>(q.hh, qrows_, N, hp, Hout, c.ln ? recp : zp, GH, !c.ln);
  if (c.fgr) qproduct<T>(q.gh, qrows_, N, a_.data_ptr<T>() + l * N * SH, SH, fg_.data_ptr<T>(), SH, false);
}

}  // namespace lstmkit
