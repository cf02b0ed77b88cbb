// e^x for 8 floats with AVX2+FMA, for the ISA-flagged kernels that need it (softmax, GELU). Include it only
// from files compiled with the AVX2 flags; it is `static inline`, so no object exports a copy (STYLE's ODR rule).
//
// x = n ln2 + r with |r| <= ln2 / 2; e^r by its degree-6 Taylor polynomial (truncation error < 1.3e-7
// relative), 2^n from the exponent bits. Inputs below -87 (where 2^n would leave the normal range),
// including -inf, give exactly 0; NaN stays NaN. Meant for x <= 0 (softmax and GELU call it there):
// above 88 the exponent overflows.
#pragma once

#include <immintrin.h>

static inline __m256 sparrow_f32_exp_avx2(__m256 x) {
  const __m256 lowest = _mm256_set1_ps(-87.0f);
  const __m256 underflow = _mm256_cmp_ps(x, lowest, _CMP_LT_OQ);
  // max(lowest, x) returns x when x is NaN, so NaN flows through to the result.
  x = _mm256_max_ps(lowest, x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2, with ln2 split in two so that n * ln2_hi is exact.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}
