// The large matrix products (gemm.h): oneDNN's matmul, looked up at run time, or ATen's.

#include "gemm.h"

#include <ATen/ATen.h>
#include <dlfcn.h>
#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#elif __has_include(<torch/version.h>)
#include <torch/version.h>
#endif

#include <atomic>

namespace lstmkit {

using at::Tensor;

// at::native::mkldnn_matmul (oneDNN) is exported by libtorch_cpu without a public header. On
// CPUs where MKL takes a slower code path (e.g. AMD) it is about twice as fast as at::mm for
// float32. It is looked up at run time: a torch without it, or a call that throws, falls back
// to at::mm for the rest of the process.
using DnnMatmul = void (*)(const Tensor&, const Tensor&, const Tensor&, float, float);

static DnnMatmul resolve_dnn_matmul() {
#if !defined(TORCH_VERSION_MAJOR) || TORCH_VERSION_MAJOR != 2 || TORCH_VERSION_MINOR != 13
  return nullptr;  // an internal function: only used with the torch it was checked against
#endif
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&at::globalContext), &info) || !info.dli_fname) return nullptr;
  void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  void* sym = dlsym(handle, "_ZN2at6native13mkldnn_matmulERKNS_6TensorES3_S3_ff");
  return reinterpret_cast<DnnMatmul>(sym);
}

static DnnMatmul g_dnn = resolve_dnn_matmul();
static std::atomic<bool> g_dnn_enabled{true};
static std::atomic<int64_t> g_dnn_min_rows{8};

void gemm(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
  if (out.numel() == 0) return;
  if (a.size(1) == 0) {
    if (!accumulate) out.zero_();
    return;
  }
  if (g_dnn && g_dnn_enabled.load() && out.scalar_type() == at::kFloat && a.size(0) >= g_dnn_min_rows.load() &&
      at::globalContext().userEnabledMkldnn()) {
    try {
      g_dnn(a, b, out, accumulate ? 1.f : 0.f, 1.f);
      return;
    } catch (const std::exception&) {
      g_dnn_enabled = false;  // unsupported here: use ATen from now on
    }
  }
  Tensor o = out;
  if (accumulate)
    o.addmm_(a, b);
  else
    at::mm_out(o, a, b);
}

void set_gemm_backend(const std::string& name, int64_t min_rows) {
  TORCH_CHECK(name == "auto" || name == "aten", "gemm backend: expected 'auto' or 'aten', got ", name);
  g_dnn_enabled = (name == "auto");
  if (min_rows > 0) g_dnn_min_rows = min_rows;
}

std::string gemm_backend() {
  if (!g_dnn) return "aten (oneDNN matmul not found in libtorch_cpu)";
  return g_dnn_enabled.load() ? "onednn (float32, >= " + std::to_string(g_dnn_min_rows.load()) + " rows) + aten"
                              : "aten";
}

}  // namespace lstmkit
