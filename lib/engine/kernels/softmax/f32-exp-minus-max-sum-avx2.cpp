// The exponential pass of a softmax row, AVX2+FMA: x[j] <- exp(x[j] - max x), returns the sum. Two passes
// over the row (max, then exp + store + sum), 8 lanes with two accumulators each; the tail of fewer than 8
// is padded with -inf, which contributes 0.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/f32-exp-avx2.h"
#include "engine/kernels/f32-lanes-avx2.h"
#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

float f32_exp_minus_max_sum_ukernel__avx2(std::size_t n, float* x) {
  assert(n != 0);
  const __m256 minus_inf = _mm256_set1_ps(-__builtin_inff());
  const std::size_t full = n / 8 * 8, rest = n - full;
  const __m256i mask = sparrow_tail_mask_avx2(rest);
  // Lanes past n read as -inf: neutral for the max, 0 after exp.
  const __m256 tail = rest == 0 ? minus_inf : _mm256_blendv_ps(minus_inf, _mm256_maskload_ps(x + full, mask),
                                                               _mm256_castsi256_ps(mask));
  __m256 m0 = tail, m1 = minus_inf;
  std::size_t j = 0;
  for (; j + 16 <= full; j += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
  }
  if (j < full) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
  const float mx = sparrow_f32_max_lanes_avx2(_mm256_max_ps(m0, m1));
  if (mx == -__builtin_inff()) {  // every entry masked
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.0f;
    return 0.0f;
  }
  const __m256 vmax = _mm256_set1_ps(mx);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (j = 0; j + 16 <= full; j += 16) {
    const __m256 e0 = sparrow_f32_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
    const __m256 e1 = sparrow_f32_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vmax));
    _mm256_storeu_ps(x + j, e0);
    _mm256_storeu_ps(x + j + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  if (j < full) {
    const __m256 e = sparrow_f32_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
    _mm256_storeu_ps(x + j, e);
    s0 = _mm256_add_ps(s0, e);
  }
  if (rest != 0) {
    const __m256 e = sparrow_f32_exp_avx2(_mm256_sub_ps(tail, vmax));
    _mm256_maskstore_ps(x + full, mask, e);
    s1 = _mm256_add_ps(s1, e);
  }
  return sparrow_f32_sum_lanes_avx2(_mm256_add_ps(s0, s1));
}

}  // namespace sparrow::kernels
