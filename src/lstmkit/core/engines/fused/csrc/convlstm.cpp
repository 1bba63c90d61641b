// The pointwise half of a convolutional LSTM step and its backward: see convlstm.h.
#include "convlstm.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "lstm_math.h"

namespace lstmkit {
namespace {

constexpr int64_t kBlock = 4096;  // elements of a row per task: rows may be few and long

// The (row, element range) tasks over R rows of J elements, in parallel.
template <typename F>
void for_blocks(int64_t R, int64_t J, const F& body) {
  const int64_t per_row = (J + kBlock - 1) / kBlock;
  at::parallel_for(0, R * per_row, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r = b / per_row, j0 = (b % per_row) * kBlock;
      body(r, j0, std::min(J, j0 + kBlock));
    }
  });
}

template <typename T, bool Peep>
void forward_range(T* z, const T* c, const T* peep, T* h, T* cn, int64_t r, int64_t j0, int64_t j1, int64_t J,
                   int64_t P) {
  // the blocks never overlap (restrict, ivdep): saying so lets the compiler vectorize the loop
  T* __restrict__ zi = z + r * 4 * J;
  T* __restrict__ zf = zi + J;
  T* __restrict__ zg = zi + 2 * J;
  T* __restrict__ zo = zi + 3 * J;
  const T* __restrict__ cp = c + r * J;
  const T* __restrict__ pi = Peep ? peep + (r % P) * J : nullptr;
  const T* __restrict__ pf = Peep ? pi + P * J : nullptr;
  const T* __restrict__ po = Peep ? pi + 2 * P * J : nullptr;
  T* __restrict__ hr = h + r * J;
  T* __restrict__ cr = cn + r * J;
#pragma GCC ivdep
  for (int64_t j = j0; j < j1; ++j) {
    const T c0 = cp[j];
    const T i = sigmoid_(Peep ? zi[j] + pi[j] * c0 : zi[j]);
    const T f = sigmoid_(Peep ? zf[j] + pf[j] * c0 : zf[j]);
    const T g = tanh_(zg[j]);
    const T c1 = f * c0 + i * g;
    const T o = sigmoid_(Peep ? zo[j] + po[j] * c1 : zo[j]);
    zi[j] = i;
    zf[j] = f;
    zg[j] = g;
    zo[j] = o;
    cr[j] = c1;
    hr[j] = o * tanh_(c1);
  }
}

template <typename T, bool Peep>
void backward_range(const T* act, const T* c, const T* cn, const T* dh, const T* dc, const T* peep, T* dz, T* dcp,
                    int64_t r, int64_t j0, int64_t j1, int64_t J, int64_t P) {
  const T* __restrict__ ai = act + r * 4 * J;
  const T* __restrict__ af = ai + J;
  const T* __restrict__ ag = ai + 2 * J;
  const T* __restrict__ ao = ai + 3 * J;
  T* __restrict__ di = dz + r * 4 * J;
  T* __restrict__ df = di + J;
  T* __restrict__ dg = di + 2 * J;
  T* __restrict__ dout = di + 3 * J;
  const T* __restrict__ pi = Peep ? peep + (r % P) * J : nullptr;
  const T* __restrict__ pf = Peep ? pi + P * J : nullptr;
  const T* __restrict__ po = Peep ? pi + 2 * P * J : nullptr;
  const T* __restrict__ cr = c + r * J;
  const T* __restrict__ nr = cn + r * J;
  const T* __restrict__ hr = dh + r * J;
  const T* __restrict__ dr = dc + r * J;
  T* __restrict__ out = dcp + r * J;
#pragma GCC ivdep
  for (int64_t j = j0; j < j1; ++j) {
    const T i = ai[j], f = af[j], g = ag[j], o = ao[j];
    const T c0 = cr[j], tc = tanh_(nr[j]), gh = hr[j];
    const T dzo = gh * tc * o * (T(1) - o);
    const T dct = dr[j] + gh * o * (T(1) - tc * tc) + (Peep ? dzo * po[j] : T(0));
    const T dzi = dct * g * i * (T(1) - i);
    const T dzf = dct * c0 * f * (T(1) - f);
    di[j] = dzi;
    df[j] = dzf;
    dg[j] = dct * i * (T(1) - g * g);
    dout[j] = dzo;
    out[j] = dct * f + (Peep ? dzi * pi[j] + dzf * pf[j] : T(0));
  }
}

void check(const Tensor& t, const char* name, const Tensor& like) {
  TORCH_CHECK_VALUE(t.is_contiguous() && t.device().is_cpu(), "lstmkit convlstm: ", name,
                    " must be a contiguous CPU tensor");
  TORCH_CHECK_VALUE(t.scalar_type() == like.scalar_type(), "lstmkit convlstm: ", name, " has dtype ",
                    t.scalar_type(), ", expected ", like.scalar_type());
}

}  // namespace

std::vector<Tensor> convlstm_pointwise_forward(Tensor& z, const Tensor& c, const Tensor& peep) {
  TORCH_CHECK_VALUE(z.dim() == 3 && z.size(1) == 4, "lstmkit convlstm: z must be [R,4,J]");
  const int64_t R = z.size(0), J = z.size(2);
  check(z, "z", z);
  check(c, "c", z);
  TORCH_CHECK_VALUE(c.numel() == R * J, "lstmkit convlstm: c must be [R,J]");
  const bool has_peep = peep.defined();
  const int64_t P = has_peep ? peep.size(1) : 1;
  if (has_peep) check(peep, "peep", z);
  Tensor h = at::empty({R, J}, z.options()), cn = at::empty({R, J}, z.options());
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "convlstm_forward", [&] {
    scalar_t* zp = z.data_ptr<scalar_t>();
    const scalar_t* cp = c.data_ptr<scalar_t>();
    const scalar_t* pp = has_peep ? peep.data_ptr<scalar_t>() : nullptr;
    scalar_t *hp = h.data_ptr<scalar_t>(), *np = cn.data_ptr<scalar_t>();
    for_blocks(R, J, [&](int64_t r, int64_t j0, int64_t j1) {
      if (has_peep)
        forward_range<scalar_t, true>(zp, cp, pp, hp, np, r, j0, j1, J, P);
      else
        forward_range<scalar_t, false>(zp, cp, pp, hp, np, r, j0, j1, J, P);
    });
  });
  return {h, cn};
}

std::vector<Tensor> convlstm_pointwise_backward(const Tensor& act, const Tensor& c, const Tensor& c_new,
                                                const Tensor& dh, const Tensor& dc, const Tensor& peep) {
  TORCH_CHECK_VALUE(act.dim() == 3 && act.size(1) == 4, "lstmkit convlstm: act must be [R,4,J]");
  const int64_t R = act.size(0), J = act.size(2);
  for (auto [t, name] : {std::pair{&act, "act"}, {&c, "c"}, {&c_new, "c_new"}, {&dh, "dh"}, {&dc, "dc"}}) {
    check(*t, name, act);
    if (t != &act) TORCH_CHECK_VALUE(t->numel() == R * J, "lstmkit convlstm: ", name, " must be [R,J]");
  }
  const bool has_peep = peep.defined();
  const int64_t P = has_peep ? peep.size(1) : 1;
  if (has_peep) check(peep, "peep", act);
  Tensor dz = at::empty_like(act), dcp = at::empty({R, J}, act.options());
  AT_DISPATCH_FLOATING_TYPES(act.scalar_type(), "convlstm_backward", [&] {
    const scalar_t *ap = act.data_ptr<scalar_t>(), *cp = c.data_ptr<scalar_t>(), *np = c_new.data_ptr<scalar_t>();
    const scalar_t *hp = dh.data_ptr<scalar_t>(), *dp = dc.data_ptr<scalar_t>();
    const scalar_t* pp = has_peep ? peep.data_ptr<scalar_t>() : nullptr;
    scalar_t *zp = dz.data_ptr<scalar_t>(), *op = dcp.data_ptr<scalar_t>();
    for_blocks(R, J, [&](int64_t r, int64_t j0, int64_t j1) {
      if (has_peep)
        backward_range<scalar_t, true>(ap, cp, np, hp, dp, pp, zp, op, r, j0, j1, J, P);
      else
        backward_range<scalar_t, false>(ap, cp, np, hp, dp, pp, zp, op, r, j0, j1, J, P);
    });
  });
  return {dz, dcp};
}

}  // namespace lstmkit
