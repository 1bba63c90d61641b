"""The fused C++ kernels: build, binding, autograd and the streaming runtime."""
