// One row against FP32 weights (decoding at batch 1), AVX2: 64 channels (four 16-channel weight panels, each
// two registers wide) per call: 8 independent FMA chains, and every weight is loaded once, where the 6-row
// GEMM kernel at one row computes 6 rows. Each channel sums its K products in order in one chain, as the GEMM
// kernel does, so a row's outputs are the same bits whether it runs alone or in a batch.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemv_ukernel_1x64__avx2(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                 const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m == 1 && nc >= 1 && nc <= 64);
  (void)m;
  (void)ldx;
  (void)ldy;
  const std::size_t panels = (nc + 15) / 16;
  // Absent panels (past nc) read panel 0 again; their sums are not stored.
  const float* w0 = w;
  const float* w1 = w + (panels > 1 ? 1 : 0) * k * kF32PanelNr;
  const float* w2 = w + (panels > 2 ? 2 : 0) * k * kF32PanelNr;
  const float* w3 = w + (panels > 3 ? 3 : 0) * k * kF32PanelNr;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (std::size_t i = 0; i < k; ++i) {
    const __m256 xi = _mm256_set1_ps(x[i]);
    a0 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w0 + i * 16), a0);
    a1 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w0 + i * 16 + 8), a1);
    a2 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w1 + i * 16), a2);
    a3 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w1 + i * 16 + 8), a3);
    a4 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w2 + i * 16), a4);
    a5 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w2 + i * 16 + 8), a5);
    a6 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w3 + i * 16), a6);
    a7 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w3 + i * 16 + 8), a7);
  }
  alignas(32) float sums[64];
  _mm256_store_ps(sums, a0);
  _mm256_store_ps(sums + 8, a1);
  _mm256_store_ps(sums + 16, a2);
  _mm256_store_ps(sums + 24, a3);
  _mm256_store_ps(sums + 32, a4);
  _mm256_store_ps(sums + 40, a5);
  _mm256_store_ps(sums + 48, a6);
  _mm256_store_ps(sums + 56, a7);
  for (std::size_t j = 0; j < nc; ++j) {
    float v = sums[j] + (bias != nullptr ? bias[j] : 0.0f);
    if (act == Activation::relu) v = v > 0.0f ? v : 0.0f;
    if (act == Activation::gelu) v = f32_gelu_ref(v);
    y[j] = v;
  }
}

}  // namespace sparrow::kernels
