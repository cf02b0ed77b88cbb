// The reference GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) with the exact erf, computed in double and
// rounded once: what the INT8 epilogue's requantized outputs and the CPUs without AVX2 compute, and what the
// vector form is checked against.
#include <cmath>

#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

float f32_gelu_ref(float x) {
  const double v = x;
  return static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
}

void f32_gelu_ukernel__scalar(std::size_t n, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = f32_gelu_ref(x[i]);
}

}  // namespace sparrow::kernels
