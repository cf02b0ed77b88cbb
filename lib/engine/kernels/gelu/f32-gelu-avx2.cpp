// GELU over an array with AVX2+FMA: the 8-lane vector form of f32-gelu-avx2.h, the tail through one padded
// vector. Compiled with AVX2 flags; it includes only the plain declarations of ops_ukernels.h and the static
// vector form, so no inline library code is built with ISA flags.
#include <immintrin.h>

#include "engine/kernels/gelu/f32-gelu-avx2.h"
#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

void f32_gelu_ukernel__avx2(std::size_t n, const float* x, float* y) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sparrow_f32_gelu_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float in[8] = {}, out[8];
    for (std::size_t j = 0; i + j < n; ++j) in[j] = x[i + j];
    _mm256_store_ps(out, sparrow_f32_gelu_avx2(_mm256_load_ps(in)));
    for (std::size_t j = 0; i + j < n; ++j) y[i + j] = out[j];
  }
}

}  // namespace sparrow::kernels
