// Exact-form GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), for 8 floats with AVX2+FMA: the gelu micro-kernel
// (f32-gelu-avx2.cpp) and the INT8 epilogue's fused GELU on FP32 outputs. Include it only from files compiled with the AVX2 flags; it is
// `static inline`, so no object exports a copy (STYLE's ODR rule).
//
// erf(z) for z >= 0 is Abramowitz & Stegun 7.1.26: 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-z^2),
// t = 1 / (1 + p z), absolute error <= 1.5e-7; odd symmetry gives z < 0; e^(-z^2) from f32-exp-avx2.h.
#pragma once

#include <immintrin.h>

#include "engine/kernels/f32-exp-avx2.h"

static inline __m256 sparrow_f32_gelu_avx2(__m256 x) {
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
