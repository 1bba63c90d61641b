// The Python module of the fused kernels: the entry points of kernels.h, stream.h, zoneout.h and
// gemm.h, and the conversions at the boundary. Its Python side is lstmkit/core/engines/fused/
// binding.py (and stream.py). The kernels run without the GIL.
//
// The boundary. Sizes: L steps, N batch rows, I input size, H hidden size, Hout = proj_size or H,
// GH = G * H for the cell's G gate blocks (i, f, g, o order), SH = S * H for its S sigmoid gates.
// A tensor bundle is a dict keyed by the names of tensors.h, None (or left out) where absent; an
// unknown name is refused.
//   config: a binding.KernelConfig, read by field name into KernelConfig (config.h):
//       spec: an lstmkit.core.cells.LSTMSpec (input_gate, forget_gate, output_gate, coupled,
//           peepholes, full_gate_recurrence, cell_activation, output_activation, layer_norm,
//           layer_norm_eps)
//       reverse, need_states, need_gates: bool; zoneout_h, zoneout_c: float; seeds: () or 4 ints
//   weights: LSTMParams._asdict(): {weight_ih [GH,I], weight_hh [GH,Hout], bias_ih [GH],
//       bias_hh [GH], weight_ch [S,H], weight_gh [SH,SH], weight_hr [Hout,H], ln_ih_weight [GH],
//       ln_hh_weight [GH], ln_c_weight [H], ln_c_bias [H]}
//   masks: {h_mask [N,Hout], keep_h [L,N,Hout], keep_c [L,N,H], mask [L,N] bool}
//
//   forward(config, x [L,N,I], h0 [N,Hout], c0 [N,H], a0 [N,SH] | None, weights, masks, save)
//       -> (outputs, saved)
//     outputs: {output [L,N,Hout], h_n [N,Hout], c_n [N,H], a_n [N,SH], h_states [L,N,Hout],
//         c_states [L,N,H], a_states [L,N,SH], gate_states [L,N,GH] (need_gates)}
//     saved (what backward needs; every entry None unless save): {h_all [L+1,N,Hout],
//         c_all [L+1,N,H], a_all [L+1,N,SH], gates [L,N,GH], ln_stats [L,N,6],
//         x_product [L,N,GH], h_product [L,N,GH]}
//   backward(config, grads, x [L,N,I], weights, masks, saved, wanted) -> gradients
//     grads: an outputs dict of the gradients reaching each output (None where none)
//     wanted: the names of the gradients the caller needs
//     gradients: {x [L,N,I], h0 [N,Hout], c0 [N,H], a0 [N,SH], then a gradient per weight name,
//         shaped as the weight}, None where the input is absent or its gradient not wanted
//   StreamRuntime(config, layers, h [layers,N,Hout], c [layers,N,H], a [layers,N,SH] | None,
//           input_size): layers is a list of weights dicts, first layer first
//     .step(x [N,I], out [N,Hout] | None) -> [N,Hout]; .gates() -> [layers,N,GH] the last step's gate
//         activations; .rebind(layers); .refresh()
//   zoneout_keep(L, N, D, z, seed [2 ints], dtype) -> [L,N,D]
//   convlstm_pointwise_forward(z [R,4,J], c [R,J], peep [3,P,J] | None) -> [h [R,J], c_new [R,J]], z
//       overwritten with the gate activations; convlstm_pointwise_backward(act [R,4,J], c, c_new, dh, dc
//       [R,J], peep) -> [dz [R,4,J], dc_prev [R,J]] (convlstm.h: the rows and the peepholes' period P)
//   set_gemm_backend(name, min_rows); gemm_backend() -> str
//
// The int8 path (qgemm.h; inference only, float32):
//   pack_int8(q [R,K] int8 in [-127,127], scale [R] float32) -> Int8Matrix (.rows R, .cols K): the
//       weight prepacked once
//   int8 weights: a dict {weight_ih, weight_hh, weight_gh, weight_hr} of Int8Matrix (the last two
//       where the cell has them)
//   forward_int8(config, x [L,N,I], h0, c0, a0, weights, int8, masks) -> outputs (as forward's;
//       weights: the tensors other than the four matrices)
//   StreamRuntime.set_int8(layers): a list of int8 weights dicts, first layer first
//   int8_products(a [M,K] uint8 in [0,127], w Int8Matrix) -> [M,R] int32 (the integer products)
//   set_int8_backend(name): "auto" | "vnni" | "avx2" | "scalar"; int8_backend() -> str

#include <torch/extension.h>

#include <string>
#include <type_traits>
#include <vector>

#include "convlstm.h"
#include "gemm.h"
#include "kernels.h"
#include "qgemm.h"
#include "stream.h"
#include "zoneout.h"

namespace py = pybind11;

namespace lstmkit {
namespace {

// The names of a struct's fields, comma-separated (for error messages).
template <typename Struct>
std::string names_of() {
  std::string names;
  Struct().each([&](const char* name, const auto&) { names += (names.empty() ? "" : ", ") + std::string(name); });
  return names;
}

// The names of a struct's fields as interned Python strings, made once (and never freed: they
// may outlive the interpreter).
template <typename Struct>
const std::vector<py::object>& keys_of() {
  static const auto* keys = [] {
    auto* out = new std::vector<py::object>();
    Struct().each([&](const char* name, const auto&) {
      out->push_back(py::reinterpret_steal<py::object>(PyUnicode_InternFromString(name)));
    });
    return out;
  }();
  return *keys;
}

// A bundle from a dict keyed by its field names.
template <typename Bundle>
Bundle bundle_from(const py::dict& d, const char* what) {
  Bundle b;
  const std::vector<py::object>& keys = keys_of<Bundle>();
  size_t i = 0, known = 0;
  b.each([&](const char*, Tensor& field) {
    PyObject* value = PyDict_GetItem(d.ptr(), keys[i++].ptr());  // borrowed; null where absent
    if (!value) return;
    ++known;
    if (value != Py_None) field = py::handle(value).cast<Tensor>();
  });
  TORCH_CHECK_VALUE(known == py::len(d), "lstmkit fused: ", what, ": expected names among ", names_of<Bundle>(),
                    ", got ", py::str(d.attr("keys")()).cast<std::string>());
  return b;
}

// A bundle as a dict keyed by its field names (None for undefined fields).
template <typename Bundle>
py::dict bundle_to(const Bundle& b) {
  py::dict d;
  const std::vector<py::object>& keys = keys_of<Bundle>();
  size_t i = 0;
  b.each([&](const char*, const Tensor& t) {
    const py::object value = t.defined() ? py::cast(t) : py::none();
    if (PyDict_SetItem(d.ptr(), keys[i++].ptr(), value.ptr()) != 0) throw py::error_already_set();
  });
  return d;
}

Wanted wanted_from(const std::vector<std::string>& names) {
  Wanted wanted;
  for (const std::string& n : names) {
    bool found = false;
    wanted.each([&](const char* name, bool& flag) {
      if (n == name) flag = found = true;
    });
    TORCH_CHECK_VALUE(found, "lstmkit fused: wanted: no gradient '", n, "' (", names_of<Gradients>(), ")");
  }
  return wanted;
}

// Every field of s from the attribute of obj of the same name.
template <typename Struct>
void read_fields(py::handle obj, Struct& s) {
  const std::vector<py::object>& keys = keys_of<Struct>();
  size_t i = 0;
  s.each([&](const char*, auto& field) {
    const py::object value = py::reinterpret_steal<py::object>(PyObject_GetAttr(obj.ptr(), keys[i++].ptr()));
    if (!value) throw py::error_already_set();
    field = value.cast<std::decay_t<decltype(field)>>();
  });
}

KernelConfig config_from(py::handle obj) {
  KernelConfig cfg;
  read_fields(obj.attr("spec"), cfg.spec);
  read_fields(obj, cfg);
  return cfg;
}

Tensor tensor_or_undefined(const c10::optional<Tensor>& t) { return t.has_value() ? *t : Tensor(); }

py::tuple forward(py::handle config, const Tensor& x, const Tensor& h0, const Tensor& c0,
                  const c10::optional<Tensor>& a0, const py::dict& weights, const py::dict& masks, bool save) {
  const KernelConfig cfg = config_from(config);
  const Weights w = bundle_from<Weights>(weights, "weights");
  const Masks m = bundle_from<Masks>(masks, "masks");
  Forward out;
  {
    py::gil_scoped_release no_gil;
    out = lstm_forward(cfg, x, h0, c0, tensor_or_undefined(a0), w, m, save);
  }
  return py::make_tuple(bundle_to(out.outputs), bundle_to(out.saved));
}

py::dict backward(py::handle config, const py::dict& grads, const Tensor& x, const py::dict& weights,
                  const py::dict& masks, const py::dict& saved, const std::vector<std::string>& wanted) {
  const KernelConfig cfg = config_from(config);
  const Outputs g = bundle_from<Outputs>(grads, "grads");
  const Weights w = bundle_from<Weights>(weights, "weights");
  const Masks m = bundle_from<Masks>(masks, "masks");
  const Saved s = bundle_from<Saved>(saved, "saved");
  const Wanted want = wanted_from(wanted);
  Gradients out;
  {
    py::gil_scoped_release no_gil;
    out = lstm_backward(cfg, g, x, w, m, s, want);
  }
  return bundle_to(out);
}

std::vector<Weights> layers_from(const std::vector<py::dict>& layers) {
  std::vector<Weights> out;
  for (const py::dict& d : layers) out.push_back(bundle_from<Weights>(d, "layers[i]"));
  return out;
}

QLayer qlayer_from(const py::dict& d) {
  QLayer q;
  size_t known = 0;
  for (const auto& [name, m] : {std::pair<const char*, QMatrix*>{"weight_ih", &q.ih}, {"weight_hh", &q.hh},
                                {"weight_gh", &q.gh}, {"weight_hr", &q.hr}}) {
    if (!d.contains(name) || d[name].is_none()) continue;
    *m = d[name].cast<QMatrix>();
    ++known;
  }
  TORCH_CHECK_VALUE(known == py::len(d), "lstmkit int8: expected names among weight_ih, weight_hh, weight_gh, "
                    "weight_hr, got ", py::str(d.attr("keys")()).cast<std::string>());
  return q;
}

py::dict forward_int8(py::handle config, const Tensor& x, const Tensor& h0, const Tensor& c0,
                      const c10::optional<Tensor>& a0, const py::dict& weights, const py::dict& int8,
                      const py::dict& masks) {
  const KernelConfig cfg = config_from(config);
  const Weights w = bundle_from<Weights>(weights, "weights");
  const QLayer q = qlayer_from(int8);
  const Masks m = bundle_from<Masks>(masks, "masks");
  Forward out;
  {
    py::gil_scoped_release no_gil;
    out = lstm_forward_int8(cfg, x, h0, c0, tensor_or_undefined(a0), w, q, m);
  }
  return bundle_to(out.outputs);
}

}  // namespace
}  // namespace lstmkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  using namespace lstmkit;
  m.doc() = "lstmkit fused LSTM kernels (forward, backward through time, streaming step); see bind.cpp";
  m.def("forward", &forward, "fused LSTM forward over a sequence -> (outputs, saved)", py::arg("config"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("a0"), py::arg("weights"), py::arg("masks"), py::arg("save"));
  m.def("backward", &backward, "hand-written backward through time -> gradients", py::arg("config"),
        py::arg("grads"), py::arg("x"), py::arg("weights"), py::arg("masks"), py::arg("saved"), py::arg("wanted"));
  py::class_<StreamRuntime>(m, "StreamRuntime")
      .def(py::init([](py::handle config, const std::vector<py::dict>& layers, const Tensor& h, const Tensor& c,
                       const c10::optional<Tensor>& a, int64_t input_size) {
             return new StreamRuntime(config_from(config), layers_from(layers), h, c, tensor_or_undefined(a),
                                      input_size);
           }),
           py::arg("config"), py::arg("layers"), py::arg("h"), py::arg("c"), py::arg("a"), py::arg("input_size"))
      .def(
          "step",
          [](StreamRuntime& self, const Tensor& x, const c10::optional<Tensor>& out) {
            py::gil_scoped_release no_gil;
            return self.step(x, tensor_or_undefined(out));
          },
          "one inference step of every layer", py::arg("x"), py::arg("out") = py::none())
      .def(
          "rebind", [](StreamRuntime& self, const std::vector<py::dict>& layers) { self.rebind(layers_from(layers)); },
          "take new parameter tensors", py::arg("layers"))
      .def("refresh", &StreamRuntime::refresh, "re-pack the weights at the next step")
      .def(
          "gates", [](const StreamRuntime& self) { return self.gates().clone(); },
          "the last step's gate activations [layers,N,GH]")
      .def(
          "set_int8",
          [](StreamRuntime& self, const std::vector<py::dict>& layers) {
            std::vector<QLayer> q;
            for (const py::dict& d : layers) q.push_back(qlayer_from(d));
            self.set_int8(std::move(q));
          },
          "run the products in int8 with these weights", py::arg("layers"));
  py::class_<QMatrix>(m, "Int8Matrix")
      .def_readonly("rows", &QMatrix::R)
      .def_readonly("cols", &QMatrix::K)
      .def("__repr__", [](const QMatrix& q) {
        return "Int8Matrix(rows=" + std::to_string(q.R) + ", cols=" + std::to_string(q.K) + ")";
      });
  m.def("pack_int8", &pack_qmatrix, "prepack an int8 weight with its per-row scales", py::arg("q"), py::arg("scale"));
  m.def("forward_int8", &forward_int8, "fused LSTM forward with int8 products -> outputs", py::arg("config"),
        py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("a0"), py::arg("weights"), py::arg("int8"),
        py::arg("masks"));
  m.def("int8_products", &int8_products, "the int32 products of uint8 rows and a packed int8 weight", py::arg("a"),
        py::arg("w"));
  m.def("set_int8_backend", &set_int8_backend, "choose the int8 backend", py::arg("name"));
  m.def("int8_backend", &int8_backend, "the int8 backend in use");
  m.def("zoneout_keep", &zoneout_keep, "the zoneout keep weights the kernels draw for a seed", py::arg("L"),
        py::arg("N"), py::arg("D"), py::arg("z"), py::arg("seed"), py::arg("dtype"));
  m.def("set_gemm_backend", &set_gemm_backend, "choose the matrix-product backend", py::arg("name"),
        py::arg("min_rows") = 0);
  m.def("gemm_backend", &gemm_backend, "the matrix-product backend in use");
  m.def(
      "convlstm_pointwise_forward",
      [](Tensor z, const Tensor& c, const c10::optional<Tensor>& peep) {
        py::gil_scoped_release no_gil;
        return convlstm_pointwise_forward(z, c, tensor_or_undefined(peep));
      },
      "ConvLSTM gate math of one step (z becomes the activations) -> [h, c_new]", py::arg("z"), py::arg("c"),
      py::arg("peep"));
  m.def(
      "convlstm_pointwise_backward",
      [](const Tensor& act, const Tensor& c, const Tensor& c_new, const Tensor& dh, const Tensor& dc,
         const c10::optional<Tensor>& peep) {
        py::gil_scoped_release no_gil;
        return convlstm_pointwise_backward(act, c, c_new, dh, dc, tensor_or_undefined(peep));
      },
      "backward of convlstm_pointwise_forward -> [dz, dc_prev]", py::arg("act"), py::arg("c"), py::arg("c_new"),
      py::arg("dh"), py::arg("dc"), py::arg("peep"));
}
