// One row against FP32 weights (decoding at batch 1: an FP32 lm_head), 128 channels (eight 16-channel weight
// panels) per call: 8 independent FMA chains cover the FMA latency, and every weight is loaded once, where the
// 8-row GEMM kernel at one row computes 8 rows. Each channel sums its K products in order in one chain, as the
// GEMM kernel does, so a row's outputs are the same bits whether it runs alone or in a batch.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemv_ukernel_1x128__avx512skx(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                       const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m == 1 && nc >= 1 && nc <= 128);
  (void)m;
  (void)ldx;
  (void)ldy;
  const std::size_t panels = (nc + 15) / 16;
  // Absent panels (past nc) read panel 0 again; their sums are not stored.
  const float* wp[8];
  for (std::size_t p = 0; p < 8; ++p) wp[p] = w + (p < panels ? p : 0) * k * kF32PanelNr;
  const float *w0 = wp[0], *w1 = wp[1], *w2 = wp[2], *w3 = wp[3], *w4 = wp[4], *w5 = wp[5], *w6 = wp[6], *w7 = wp[7];
  // Named accumulators: an array indexed at run time would live in memory inside the loop.
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (std::size_t i = 0; i < k; ++i) {
    const __m512 xi = _mm512_set1_ps(x[i]);
    a0 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w0 + i * 16), a0);
    a1 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w1 + i * 16), a1);
    a2 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w2 + i * 16), a2);
    a3 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w3 + i * 16), a3);
    a4 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w4 + i * 16), a4);
    a5 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w5 + i * 16), a5);
    a6 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w6 + i * 16), a6);
    a7 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w7 + i * 16), a7);
  }
  const __m512 sums[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
  for (std::size_t p = 0; p < panels; ++p) {
    const std::size_t left = nc - p * 16;
    const __mmask16 mask = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1);
    __m512 v = sums[p];
    if (bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + p * 16));
    if (act == Activation::relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(y + p * 16, mask, v);
  }
  if (act == Activation::gelu) {
    for (std::size_t j = 0; j < nc; ++j) y[j] = f32_gelu_ref(y[j]);
  }
}

}  // namespace sparrow::kernels
