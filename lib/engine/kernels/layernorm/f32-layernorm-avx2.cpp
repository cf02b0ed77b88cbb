// Layer norm over rows of n floats, AVX2+FMA, single precision: a pass for the mean, one for the (biased)
// variance of x - mean (two passes keep the digits a one-pass E[x^2] - E[x]^2 loses when the mean is large),
// one for the output. Each row is at most a few KiB, so the second and third passes read L1.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/f32-lanes-avx2.h"
#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

void f32_layernorm_ukernel__avx2(std::size_t m, std::size_t n, const float* x, std::size_t ldx, const float* gamma,
                                 const float* beta, float eps, float* y, std::size_t ldy) {
  assert(n != 0);
  const std::size_t full = n / 8 * 8, rest = n - full;
  // Lanes past n load as 0 and are not stored.
  const __m256i tail = sparrow_tail_mask_avx2(rest);
  const float inv_n = 1.0f / static_cast<float>(n);
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    float* out = y + i * ldy;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t j = 0;
    for (; j + 16 <= full; j += 16) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(row + j));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(row + j + 8));
    }
    if (j < full) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(row + j));
    if (rest != 0) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(row + full, tail));
    const __m256 mean = _mm256_set1_ps(sparrow_f32_sum_lanes_avx2(_mm256_add_ps(s0, s1)) * inv_n);

    __m256 v0 = _mm256_setzero_ps(), v1 = _mm256_setzero_ps();
    for (j = 0; j + 16 <= full; j += 16) {
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(row + j), mean);
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(row + j + 8), mean);
      v0 = _mm256_fmadd_ps(d0, d0, v0);
      v1 = _mm256_fmadd_ps(d1, d1, v1);
    }
    if (j < full) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + j), mean);
      v0 = _mm256_fmadd_ps(d, d, v0);
    }
    if (rest != 0) {
      // Masked lanes hold 0 - mean: zero them before squaring.
      const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(row + full, tail), mean), _mm256_castsi256_ps(tail));
      v1 = _mm256_fmadd_ps(d, d, v1);
    }
    const float var = sparrow_f32_sum_lanes_avx2(_mm256_add_ps(v0, v1)) * inv_n;
    const __m256 inv = _mm256_set1_ps(1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(var + eps))));

    for (j = 0; j < full; j += 8) {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mean), inv);
      _mm256_storeu_ps(out + j, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + j), _mm256_loadu_ps(beta + j)));
    }
    if (rest != 0) {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(row + full, tail), mean), inv);
      _mm256_maskstore_ps(out + full, tail,
                          _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + full, tail), _mm256_maskload_ps(beta + full, tail)));
    }
  }
}

}  // namespace sparrow::kernels
