// One row against FP32 weights (decoding at batch 1), AVX2: 32 channels (two 16-channel weight panels, each
// two registers wide) per call, two K steps per iteration in separate accumulators (8 FMA chains); every
// weight is loaded once, where the 6-row GEMM kernel at one row computes 6 rows.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemv_ukernel_1x32__avx2(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                 const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m == 1 && nc >= 1 && nc <= 32);
  (void)m;
  (void)ldx;
  (void)ldy;
  // A tile of <= 16 channels has no second panel: reuse the first (results discarded).
  const float* w0 = w;
  const float* w1 = nc > 16 ? w + k * kF32PanelNr : w;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  std::size_t i = 0;
  for (; i + 2 <= k; i += 2) {
    const __m256 xa = _mm256_set1_ps(x[i]), xb = _mm256_set1_ps(x[i + 1]);
    a0 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w0 + i * 16), a0);
    a1 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w0 + i * 16 + 8), a1);
    a2 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w1 + i * 16), a2);
    a3 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w1 + i * 16 + 8), a3);
    b0 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w0 + i * 16 + 16), b0);
    b1 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w0 + i * 16 + 24), b1);
    b2 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w1 + i * 16 + 16), b2);
    b3 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w1 + i * 16 + 24), b3);
  }
  if (i < k) {
    const __m256 xa = _mm256_set1_ps(x[i]);
    a0 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w0 + i * 16), a0);
    a1 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w0 + i * 16 + 8), a1);
    a2 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w1 + i * 16), a2);
    a3 = _mm256_fmadd_ps(xa, _mm256_loadu_ps(w1 + i * 16 + 8), a3);
  }
  alignas(32) float sums[32];
  _mm256_store_ps(sums, _mm256_add_ps(a0, b0));
  _mm256_store_ps(sums + 8, _mm256_add_ps(a1, b1));
  _mm256_store_ps(sums + 16, _mm256_add_ps(a2, b2));
  _mm256_store_ps(sums + 24, _mm256_add_ps(a3, b3));
  for (std::size_t j = 0; j < nc; ++j) {
    float v = sums[j] + (bias != nullptr ? bias[j] : 0.0f);
    if (act == Activation::relu) v = v > 0.0f ? v : 0.0f;
    if (act == Activation::gelu) v = f32_gelu_ref(v);
    y[j] = v;
  }
}

}  // namespace sparrow::kernels
