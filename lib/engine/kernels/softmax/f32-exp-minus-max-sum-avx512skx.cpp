// The exponential pass of a softmax row, AVX-512F: x[j] <- exp(x[j] - max x), returns the sum. The AVX2
// kernel's two passes at 16 lanes, with f32-exp-avx512.h's exp (each lane the AVX2 exp's bits); the sum's
// order differs from the AVX2 kernel's. The tail of fewer than 16 is a masked load with -inf in the other
// lanes, which contributes 0.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/f32-exp-avx512.h"
#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

namespace {

// Horizontal max and sum over the 16 lanes, once per row (GCC 12's _mm512_reduce_* warn about their own
// undefined registers).
float max_lanes(__m512 v) {
  alignas(64) float lane[16];
  _mm512_store_ps(lane, v);
  float m = lane[0];
  for (int i = 1; i < 16; ++i) m = lane[i] > m ? lane[i] : m;
  return m;
}

float sum_lanes(__m512 v) {
  alignas(64) float lane[16];
  _mm512_store_ps(lane, v);
  float s = 0.0f;
  for (int i = 0; i < 16; ++i) s += lane[i];
  return s;
}

}  // namespace

float f32_exp_minus_max_sum_ukernel__avx512skx(std::size_t n, float* x) {
  assert(n != 0);
  const __m512 minus_inf = _mm512_set1_ps(-__builtin_inff());
  const std::size_t full = n / 16 * 16, rest = n - full;
  const auto mask = static_cast<__mmask16>((1u << rest) - 1u);
  const __m512 tail = _mm512_mask_mov_ps(minus_inf, mask, _mm512_maskz_loadu_ps(mask, x + full));
  __m512 m0 = tail, m1 = minus_inf;
  std::size_t j = 0;
  for (; j + 32 <= full; j += 32) {
    m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + j));
    m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + j + 16));
  }
  if (j < full) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + j));
  const float mx = max_lanes(_mm512_max_ps(m0, m1));
  if (mx == -__builtin_inff()) {  // every entry masked
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.0f;
    return 0.0f;
  }
  const __m512 vmax = _mm512_set1_ps(mx);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (j = 0; j + 32 <= full; j += 32) {
    const __m512 e0 = sparrow_f32_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax));
    const __m512 e1 = sparrow_f32_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + j + 16), vmax));
    _mm512_storeu_ps(x + j, e0);
    _mm512_storeu_ps(x + j + 16, e1);
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  if (j < full) {
    const __m512 e = sparrow_f32_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax));
    _mm512_storeu_ps(x + j, e);
    s0 = _mm512_add_ps(s0, e);
  }
  if (rest != 0) {
    const __m512 e = sparrow_f32_exp_avx512(_mm512_sub_ps(tail, vmax));
    _mm512_mask_storeu_ps(x + full, mask, e);
    s1 = _mm512_add_ps(s1, e);
  }
  return sum_lanes(_mm512_add_ps(s0, s1));
}

}  // namespace sparrow::kernels
