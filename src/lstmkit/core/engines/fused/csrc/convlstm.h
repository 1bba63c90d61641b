// The pointwise half of a convolutional LSTM step (lstmkit.core.cells.convlstm.convlstm_pointwise):
// the gate activations, the new cell and hidden state from the convolutions' pre-activations, and
// its backward. The convolutions stay torch's; this replaces the dozen elementwise passes (and their
// autograd records) of the reference step with one pass forward and one backward.
//
// Layout: R rows of J elements. A row is one batch sample of an NCHW-style map (J = F * prod(S)) or
// one position of a channels-last map (R = N * prod(S), J = F); the gate blocks i, f, g, o of a row
// lie J apart. Peepholes, when defined, are [3,P,J]: row r reads row r % P (P = 1 for NCHW, the
// number of positions for channels-last). Every tensor contiguous, on the CPU, float32 or float64.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace lstmkit {

using at::Tensor;

// Forward of one step.
//   z: [R,4,J] the pre-activations; overwritten with the activations i, f, g, o (what backward needs)
//   c: [R,J] the previous cell state c_{t-1}
//   peep: [3,P,J] the peepholes of i, f (reading c_{t-1}) and o (reading c_t), or undefined
// Returns {h [R,J], c_new [R,J]}.
std::vector<Tensor> convlstm_pointwise_forward(Tensor& z, const Tensor& c, const Tensor& peep);

// Backward of one step.
//   act: [R,4,J] the activations the forward left in z
//   c: [R,J] c_{t-1};  c_new: [R,J] c_t
//   dh: [R,J] the gradient reaching h_t;  dc: [R,J] the gradient reaching c_t from later steps
//   peep: as in the forward
// Returns {dz [R,4,J], dc_prev [R,J]} (the peepholes' gradients are sums the caller forms from dz).
std::vector<Tensor> convlstm_pointwise_backward(const Tensor& act, const Tensor& c, const Tensor& c_new,
                                                const Tensor& dh, const Tensor& dc, const Tensor& peep);

}  // namespace lstmkit
