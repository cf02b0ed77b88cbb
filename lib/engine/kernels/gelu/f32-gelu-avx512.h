// Exact-form GELU for 16 floats with AVX-512F/DQ: f32-gelu-avx2.h's operations lane for lane, so each lane gives
// the AVX2 GELU's bits (within 2e-7 * max(1, |x|) of the scalar reference) at twice the width. For the AVX-512
// INT8 epilogue. Include it only from files compiled with the AVX-512 flags; `static inline` (STYLE's ODR rule).
#pragma once

#include <immintrin.h>

#include "engine/kernels/f32-exp-avx512.h"

static inline __m512 sparrow_f32_gelu_avx512(__m512 x) {
  const __m512 sign_mask = _mm512_set1_ps(-0.0f);
  const __m512 z = _mm512_mul_ps(_mm512_andnot_ps(sign_mask, x), _mm512_set1_ps(0.70710678118654752f));
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), z, _mm512_set1_ps(1.0f)));
  __m512 poly = _mm512_set1_ps(1.061405429f);
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
  poly = _mm512_mul_ps(poly, t);
  const __m512 erf_abs = _mm512_fnmadd_ps(poly, sparrow_f32_exp_avx512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z)),
                                          _mm512_set1_ps(1.0f));
  const __m512 erf = _mm512_or_ps(erf_abs, _mm512_and_ps(sign_mask, x));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}
