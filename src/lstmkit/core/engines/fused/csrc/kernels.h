// The kernels over a sequence: the forward pass of one LSTM layer and direction, and its
// hand-written backward through time. The math is lstmkit.core.cells.lstm.lstm_step (the
// reference) with the runner's semantics: a padded step (mask false) keeps the state and outputs
// 0; reverse walks t = L-1 .. 0; zoneout mixes s = keep * s_prev + (1 - keep) * s_new for h and c.
// Layout: time-major [L,N,*]; every tensor on the CPU, float32 or float64 (the mask bool).
//
// Sizes: L steps, N batch rows, I input size, H hidden size, Hout = proj_size or H, GH = G * H for
// the cell's G gate blocks, SH = S * H for its S sigmoid gates. The bundles (Weights, Masks,
// Outputs, Saved, Gradients, Wanted) and each of their fields' shapes: tensors.h; the config:
// config.h.
#pragma once

#include <ATen/ATen.h>

#include "config.h"
#include "qgemm.h"
#include "tensors.h"

namespace lstmkit {

// Runs the cell over all L steps.
//   cfg: the cell, the direction, need_states and the zoneout draws (KernelConfig)
//   x: [L,N,I] the input (padded steps: read as given; the caller passes zeros there)
//   h0: [N,Hout] the initial hidden state
//   c0: [N,H] the initial cell state
//   a0: [N,SH] the initial FGR state, the sigmoid gates of the step before (FGR only, else undefined)
//   w: the layer's Weights
//   masks: the Masks (each may be undefined)
//   save: also return what lstm_backward needs (Forward::saved; undefined fields otherwise)
// Returns Forward: outputs {output, h_n, c_n, a_n, h_states, c_states, a_states} and saved.
Forward lstm_forward(const KernelConfig& cfg, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& a0,
                     const Weights& w, const Masks& masks, bool save);

// The gradients of a loss through lstm_forward, given those of its outputs.
//   cfg: the KernelConfig of the forward call (the same zoneout draws are made again)
//   grads: [as Outputs] the gradient of each output (undefined where none reaches it)
//   x: [L,N,I] the forward call's input
//   w: the forward call's Weights
//   masks: the forward call's Masks
//   saved: what the forward call saved (Forward::saved)
//   wanted: which gradients the caller needs (the products of the others are skipped)
// Returns Gradients: {x, h0, c0, a0, one per weight}, undefined where the input is absent or its
// gradient not wanted.
Gradients lstm_backward(const KernelConfig& cfg, const Outputs& grads, const Tensor& x, const Weights& w,
                        const Masks& masks, const Saved& saved, const Wanted& wanted);

// lstm_forward with int8 products (inference only, float32): the matrices W_ih, W_hh, W_gh and W_hr
// come prepacked in q (qgemm.h), the other weights (biases, peepholes, layer norm) in w; the gate
// math is lstm_forward's. Arguments otherwise as lstm_forward's (nothing is saved).
Forward lstm_forward_int8(const KernelConfig& cfg, const Tensor& x, const Tensor& h0, const Tensor& c0,
                          const Tensor& a0, const Weights& w, const QLayer& q, const Masks& masks);

}  // namespace lstmkit
