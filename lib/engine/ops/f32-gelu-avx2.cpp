// The gelu op with AVX2+FMA (f32-gelu-avx2.h). Compiled with AVX2 flags and called only when the CPU has AVX2
// (op_elementwise.cpp): this file includes nothing but <cstddef> and the static GELU, so no inline library code
// is built with ISA flags.
#include <cstddef>

#include "engine/kernels/f32-gelu-avx2.h"

namespace sparrow::engine::ops {

// y[0..count) = GELU(x); count need not be a multiple of 8.
void gelu_f32_avx2(const float* x, std::size_t count, float* y) {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, sparrow_f32_gelu_avx2(_mm256_loadu_ps(x + i)));
  if (i < count) {
    alignas(32) float in[8] = {}, out[8];
    for (std::size_t j = 0; i + j < count; ++j) in[j] = x[i + j];
    _mm256_store_ps(out, sparrow_f32_gelu_avx2(_mm256_load_ps(in)));
    for (std::size_t j = 0; i + j < count; ++j) y[i + j] = out[j];
  }
}

}  // namespace sparrow::engine::ops
