// The tensors of a kernel call in named bundles. bind.cpp converts each bundle from and to a Python
// dict with the same names; a field is undefined (None in Python) where the cell or the call has
// no such tensor.
//
// Sizes: L steps, N batch rows, I input size, H hidden size, Hout = proj_size or H, GH = G * H for
// the cell's G gate blocks (i, f, g, o order), SH = S * H for its S sigmoid gates (config.h).
//
// Weights: one layer and direction, named as lstmkit.core.cells.LSTMParams.
//   weight_ih: [GH,I] the input weights
//   weight_hh: [GH,Hout] the recurrent weights
//   bias_ih, bias_hh: [GH] the biases
//   weight_ch: [S,H] the peephole weights, a row per sigmoid gate (peepholes)
//   weight_gh: [SH,SH] the weights of the previous step's sigmoid gates (full_gate_recurrence)
//   weight_hr: [Hout,H] the projection (proj_size)
//   ln_ih_weight, ln_hh_weight: [GH] the layer-norm gains of the x- and h-products (layer_norm)
//   ln_c_weight, ln_c_bias: [H] the layer-norm gain and shift of the cell (layer_norm)
// Masks: the regularizers' masks and the padding, constants (no gradient).
//   h_mask: [N,Hout] variational dropout mask on h_{t-1}
//   keep_h: [L,N,Hout] zoneout keep weights of h (an expanded constant in evaluation mode)
//   keep_c: [L,N,H] zoneout keep weights of c
//   mask: [L,N] bool, true at real steps; a padded step keeps the state and outputs 0
// Outputs: what lstm_forward returns (lstm_backward takes their gradients in the same bundle).
//   output: [L,N,Hout] h of every step (0 at padded steps)
//   h_n: [N,Hout], c_n: [N,H], a_n: [N,SH] the final state (a_n: the FGR gates)
//   h_states: [L,N,Hout], c_states: [L,N,H], a_states: [L,N,SH] every step's state (need_states;
//       0 at padded steps)
//   gate_states: [L,N,GH] every step's gate activations, blocks i, f, g, o of the cell (need_gates;
//       0 at padded steps; no gradient flows back through them)
// Saved: what lstm_backward needs from lstm_forward (`save`).
//   h_all: [L+1,N,Hout] h before the first step and after each (in the order of t)
//   c_all: [L+1,N,H], a_all: [L+1,N,SH] the same for c and the FGR gates
//   gates: [L,N,GH] the gate activations of every step
//   ln_stats: [L,N,6] mean and 1 / std of the x-product, of the h-product and of the cell (layer_norm)
//   x_product, h_product: [L,N,GH] the raw products x_t W_ih^T and h_{t-1} W_hh^T (layer_norm)
// Gradients: what lstm_backward returns, shaped as what they are the gradients of.
//   x: [L,N,I], h0: [N,Hout], c0: [N,H], a0: [N,SH], then one per field of Weights
// Wanted: the names of Gradients, true for those the caller needs (the others may stay undefined).
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cstdint>

namespace lstmkit {

using at::Tensor;

#define LSTMKIT_WEIGHTS(X)                                                                                  \
  X(weight_ih) X(weight_hh) X(bias_ih) X(bias_hh) X(weight_ch) X(weight_gh) X(weight_hr) X(ln_ih_weight) \
  X(ln_hh_weight) X(ln_c_weight) X(ln_c_bias)
#define LSTMKIT_MASKS(X) X(h_mask) X(keep_h) X(keep_c) X(mask)
#define LSTMKIT_OUTPUTS(X) X(output) X(h_n) X(c_n) X(a_n) X(h_states) X(c_states) X(a_states) X(gate_states)
#define LSTMKIT_SAVED(X) X(h_all) X(c_all) X(a_all) X(gates) X(ln_stats) X(x_product) X(h_product)
#define LSTMKIT_GRADIENTS(X) X(x) X(h0) X(c0) X(a0) LSTMKIT_WEIGHTS(X)

#define LSTMKIT_TENSOR_FIELD(name) Tensor name;
#define LSTMKIT_FLAG_FIELD(name) bool name = false;
#define LSTMKIT_VISIT_FIELD(name) f(#name, name);

// struct Name: a field (declared by FIELD) per name of FIELDS, and each(f), which calls
// f(name, field) for every field in that order.
#define LSTMKIT_BUNDLE(Name, FIELDS, FIELD) \
  struct Name {                             \
    FIELDS(FIELD)                           \
    template <typename F>                   \
    void each(F&& f) {                      \
      FIELDS(LSTMKIT_VISIT_FIELD)           \
    }                                       \
    template <typename F>                   \
    void each(F&& f) const {                \
      FIELDS(LSTMKIT_VISIT_FIELD)           \
    }                                       \
  };

LSTMKIT_BUNDLE(Weights, LSTMKIT_WEIGHTS, LSTMKIT_TENSOR_FIELD)
LSTMKIT_BUNDLE(Masks, LSTMKIT_MASKS, LSTMKIT_TENSOR_FIELD)
LSTMKIT_BUNDLE(Outputs, LSTMKIT_OUTPUTS, LSTMKIT_TENSOR_FIELD)
LSTMKIT_BUNDLE(Saved, LSTMKIT_SAVED, LSTMKIT_TENSOR_FIELD)
LSTMKIT_BUNDLE(Gradients, LSTMKIT_GRADIENTS, LSTMKIT_TENSOR_FIELD)
LSTMKIT_BUNDLE(Wanted, LSTMKIT_GRADIENTS, LSTMKIT_FLAG_FIELD)

// What lstm_forward returns.
struct Forward {
  Outputs outputs;
  Saved saved;
};

// The bundle with every defined field made contiguous.
template <typename Bundle>
Bundle contiguous(Bundle b) {
  b.each([](const char*, Tensor& t) {
    if (t.defined()) t = t.contiguous();
  });
  return b;
}

// Whether t holds one value (every dimension of size 1 or stride 0, as an expanded constant).
inline bool is_constant(const Tensor& t) {
  bool constant = true;
  for (int64_t d = 0; d < t.dim(); ++d) constant = constant && (t.stride(d) == 0 || t.size(d) == 1);
  return constant;
}

// The masks made contiguous, except constant zoneout keep weights (read as one value).
inline Masks contiguous_masks(Masks m) {
  for (Tensor* k : {&m.keep_h, &m.keep_c})
    if (k->defined() && !is_constant(*k)) *k = k->contiguous();
  for (Tensor* t : {&m.h_mask, &m.mask})
    if (t->defined()) *t = t->contiguous();
  return m;
}

// t's data, or null where t is undefined.
template <typename T>
inline T* ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// A grain for at::parallel_for over rows of `row_elems` elements.
inline int64_t row_grain(int64_t row_elems) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_elems)); }

}  // namespace lstmkit
