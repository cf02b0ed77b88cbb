// One row against FP32 weights (decoding at batch 1: an FP32 lm_head), 64 channels (four 16-channel weight
// panels) per call. Two K steps per iteration in separate accumulators: 8 independent FMA chains cover the FMA
// latency, and every weight is loaded once, where the 8-row GEMM kernel at one row computes 8 rows.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemv_ukernel_1x64__avx512skx(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
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
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  std::size_t i = 0;
  for (; i + 2 <= k; i += 2) {
    const __m512 xa = _mm512_set1_ps(x[i]), xb = _mm512_set1_ps(x[i + 1]);
    a0 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w0 + i * 16), a0);
    a1 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w1 + i * 16), a1);
    a2 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w2 + i * 16), a2);
    a3 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w3 + i * 16), a3);
    b0 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(w0 + i * 16 + 16), b0);
    b1 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(w1 + i * 16 + 16), b1);
    b2 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(w2 + i * 16 + 16), b2);
    b3 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(w3 + i * 16 + 16), b3);
  }
  if (i < k) {
    const __m512 xa = _mm512_set1_ps(x[i]);
    a0 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w0 + i * 16), a0);
    a1 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w1 + i * 16), a1);
    a2 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w2 + i * 16), a2);
    a3 = _mm512_fmadd_ps(xa, _mm512_loadu_ps(w3 + i * 16), a3);
  }
  const __m512 sums[4] = {_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), _mm512_add_ps(a2, b2), _mm512_add_ps(a3, b3)};
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
