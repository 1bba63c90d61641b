// The named configuration of a kernel call (KernelConfig, what crosses from Python) and the
// cell it describes as the kernels read it (Cell: flags, sizes and where each gate's block lies).
//
// Sizes: H hidden size, Hout = proj_size or H, G gate blocks (GH = G * H), S sigmoid gates
// (SH = S * H, the FGR state).
#pragma once

#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lstm_math.h"

namespace lstmkit {

// The cell, field for field lstmkit.core.cells.LSTMSpec (bind.cpp reads it by name).
//   input_gate, forget_gate, output_gate: the gates the cell has (a missing gate is 1)
//   coupled: f = 1 - i (CIFG)
//   peepholes: w_ch * c enters the pre-activations of the sigmoid gates
//   full_gate_recurrence: the previous step's sigmoid gates enter them through w_gh (FGR)
//   cell_activation, output_activation: activation names (tanh, sigmoid, identity, hs97_g, hs97_h)
//   layer_norm: layer norm of the x-product, of the h-product and of the cell
//   layer_norm_eps: the epsilon of the layer norms
struct CellSpec {
  bool input_gate = true, forget_gate = true, output_gate = true, coupled = false, peepholes = false;
  bool full_gate_recurrence = false, layer_norm = false;
  std::string cell_activation = "tanh", output_activation = "tanh";
  double layer_norm_eps = 1e-5;

  template <typename F>
  void each(F&& f) {  // f(name, field) for every field
    f("input_gate", input_gate), f("forget_gate", forget_gate), f("output_gate", output_gate);
    f("coupled", coupled), f("peepholes", peepholes), f("full_gate_recurrence", full_gate_recurrence);
    f("cell_activation", cell_activation), f("output_activation", output_activation);
    f("layer_norm", layer_norm), f("layer_norm_eps", layer_norm_eps);
  }
};

// One call, field for field lstmkit.core.engines.fused.binding.KernelConfig.
//   spec: the cell (CellSpec)
//   reverse: walk the steps t = L-1 .. 0
//   need_states: also return every step's state
//   need_gates: also return every step's gate activations (gate_states)
//   zoneout_h, zoneout_c: zoneout probabilities of h and of c; with `seeds`, lstm_forward and
//       lstm_backward draw the keep weights Bernoulli(z) themselves (zoneout.h); the streaming
//       runtime uses them as its evaluation-mode keep weight
//   seeds: none, or 4 32-bit integers: the keys (k1, k2) of the h draws, then of the c draws
struct KernelConfig {
  CellSpec spec;
  bool reverse = false, need_states = false, need_gates = false;
  double zoneout_h = 0.0, zoneout_c = 0.0;
  std::vector<int64_t> seeds;

  template <typename F>
  void each(F&& f) {  // f(name, field) for every field but spec
    f("reverse", reverse), f("need_states", need_states), f("need_gates", need_gates);
    f("zoneout_h", zoneout_h), f("zoneout_c", zoneout_c), f("seeds", seeds);
  }
};

// The Act of an activation name.
inline int activation_id(const std::string& name) {
  static const char* const names[] = {"tanh", "sigmoid", "identity", "hs97_g", "hs97_h"};  // Act order
  for (int id = 0; id < 5; ++id)
    if (name == names[id]) return id;
  TORCH_CHECK_VALUE(false, "lstmkit fused: no activation '", name, "' (tanh, sigmoid, identity, hs97_g, hs97_h)");
  return kTanh;
}

// The cell as the kernels read it. Gate blocks lie in z and in the saved activations in the order
// i, f, g, o (those the cell has); the sigmoid gates i, f, o also in the FGR state and the rows of
// w_ch, in that order.
struct Cell {
  bool ig, fg, og, coupled, peep, fgr, ln, reverse;
  int act_g, act_h;
  double eps;
  int64_t H = 0, Hout = 0, G = 0, S = 0, GH = 0, SH = 0;
  int bi = -1, bf = -1, bg = -1, bo = -1;  // gate block in z / the activations (i, f, g, o order)
  int si = -1, sf = -1, so = -1;           // block in the FGR state and row of w_ch
  int nsig = 0;                            // the sigmoid gates the cell has: nsig of
  int sig_z[3] = {}, sig_s[3] = {};        // (block in z, block in the state), in the order i, f, o
};

inline Cell make_cell(const KernelConfig& cfg, int64_t H, int64_t Hout) {
  const CellSpec& s = cfg.spec;
  Cell c;
  c.ig = s.input_gate;
  c.fg = s.forget_gate;
  c.og = s.output_gate;
  c.coupled = s.coupled;
  c.peep = s.peepholes;
  c.fgr = s.full_gate_recurrence;
  c.ln = s.layer_norm;
  c.act_g = activation_id(s.cell_activation);
  c.act_h = activation_id(s.output_activation);
  c.reverse = cfg.reverse;
  c.eps = s.layer_norm_eps;
  int b = 0, k = 0;
  if (c.ig) c.bi = b++, c.si = k++;
  if (c.fg && !c.coupled) c.bf = b++, c.sf = k++;
  c.bg = b++;
  if (c.og) c.bo = b++, c.so = k++;
  for (const auto& [zb, sb] : {std::pair<int, int>{c.bi, c.si}, {c.bf, c.sf}, {c.bo, c.so}})
    if (zb >= 0) c.sig_z[c.nsig] = zb, c.sig_s[c.nsig++] = sb;
  c.G = b;
  c.S = k;
  c.H = H;
  c.Hout = Hout;
  c.GH = c.G * H;
  c.SH = c.S * H;
  return c;
}

}  // namespace lstmkit
