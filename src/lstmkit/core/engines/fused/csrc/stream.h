// Streaming inference: one step of a stack of unidirectional layers at a time, the state carried
// in place (Python: lstmkit.core.engines.fused.stream.LSTMStream).
//
// The runtime holds the layers' parameter tensors (detached views of the module's parameters,
// sharing their version counters), the state buffers, a workspace, and the weights packed for the
// per-step products. A weight is re-packed when its version counter or storage changes (optimizer
// steps, load_state_dict, .to()); writes through `.data` bypass version counting: call refresh()
// after those. Zoneout uses its evaluation form (keep = z). Sizes as in kernels.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "config.h"
#include "qgemm.h"
#include "tensors.h"

namespace lstmkit {

class StreamRuntime {
 public:
  //   cfg: the cell (KernelConfig; zoneout_h, zoneout_c: the evaluation-mode keep weights; the
  //       direction, need_states and seeds are unused)
  //   layers: the Weights of each layer, first to last
  //   h: [layers,N,Hout] the hidden state, updated in place (contiguous)
  //   c: [layers,N,H] the cell state, updated in place (contiguous)
  //   a: [layers,N,SH] the FGR state, updated in place (FGR only, else undefined)
  //   input_size: I, the features of the first layer's input
  StreamRuntime(const KernelConfig& cfg, std::vector<Weights> layers, Tensor h, Tensor c, Tensor a,
                int64_t input_size);

  // Take new parameter tensors (one Weights per layer); they are packed at the next step.
  void rebind(std::vector<Weights> layers);

  // Re-pack every weight at the next step.
  void refresh();

  // Run the matrix products in int8 with these prepacked weights (one QLayer per layer, float32
  // only); the Weights then hold the other tensors (biases, peepholes, layer norm).
  void set_int8(std::vector<QLayer> layers);

  // One step of every layer.
  //   x: [N,I] the step's input, of the state's dtype
  //   out: [N,Hout] contiguous, receives the last layer's h (undefined: a new tensor)
  // Returns out: the last layer's h after the step.
  Tensor step(const Tensor& x, const Tensor& out);

  // The gate activations of the last step: [layers,N,GH], blocks i, f, g, o of the cell (a view of
  // the workspace: the next step overwrites it).
  const Tensor& gates() const { return act_; }

 private:
  struct Packed {
    Tensor data;
    int64_t version = -1;
    const void* source = nullptr;
  };

  template <typename T>
  const T* packed(int64_t slot, const Tensor& w);
  template <typename T>
  void layer_step(int64_t l, const T* inp, int64_t in_size);
  template <typename T>
  void int8_layer_products(int64_t l, const T* inp, int64_t in_size);

  std::vector<Weights> layers_;
  std::vector<Packed> packed_;  // 4 per layer: W_ih, W_hh, W_gh, W_hr
  std::vector<QLayer> q_;       // the int8 weights of each layer (empty: float products)
  QRows qrows_;                 // the int8 path's quantized activations
  Tensor h_, c_, a_;
  Cell cell_;
  double zh_, zc_;
  int64_t input_size_, n_layers_ = 0, N_ = 0;
  Tensor z_, rec_, fg_, act_, cn_, r_, hn_, stats_;  // the workspace of one layer's step
};

}  // namespace lstmkit
