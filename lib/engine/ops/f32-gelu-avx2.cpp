// Exact-form GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), 8 floats at a time with AVX2+FMA. Compiled
// with AVX2 flags and called only when the CPU has AVX2 (op_elementwise.cpp): this file includes nothing
// but <immintrin.h>, <cstddef> and the static exp, so no inline library code is built with ISA flags.
//
// erf(z) for z >= 0 is Abramowitz & Stegun 7.1.26: 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-z^2),
// t = 1 / (1 + p z), absolute error <= 1.5e-7; odd symmetry gives z < 0; e^(-z^2) from f32-exp-avx2.h.
#include <immintrin.h>

#include <cstddef>

#include "engine/kernels/f32-exp-avx2.h"

namespace sparrow::engine::ops {

namespace {

inline __m256 gelu8(__m256 x) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign_mask, x), _mm256_set1_ps(0.70710678118654752f));
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), z, _mm256_set1_ps(1.0f)));
  __m256 poly = _mm256_set1_ps(1.061405429f);
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
  poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
  poly = _mm256_mul_ps(poly, t);
  const __m256 erf_abs = _mm256_fnmadd_ps(poly, sparrow_f32_exp_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), z), z)), _mm256_set1_ps(1.0f));
  const __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(sign_mask, x));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

}  // namespace

// y[0..count) = GELU(x); count need not be a multiple of 8.
void gelu_f32_avx2(const float* x, std::size_t count, float* y) {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
  if (i < count) {
    alignas(32) float in[8] = {}, out[8];
    for (std::size_t j = 0; i + j < count; ++j) in[j] = x[i + j];
    _mm256_store_ps(out, gelu8(_mm256_load_ps(in)));
    for (std::size_t j = 0; i + j < count; ++j) y[i + j] = out[j];
  }
}

}  // namespace sparrow::engine::ops
