// FP32 GEMM, AVX-512: 8 rows x 32 channels (two 16-channel weight panels) = 16 accumulators; per k 2 weight
// loads and 8 broadcasts feed 16 FMAs.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemm_ukernel_8x32__avx512skx(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                      const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m >= 1 && m <= 8 && nc >= 1 && nc <= 32);
  const float* xr[8];
  for (std::size_t r = 0; r < 8; ++r) xr[r] = x + (r < m ? r : m - 1) * ldx;
  // A tile of <= 16 channels has no second panel: reuse the first (results discarded).
  const float* w1p = nc > 16 ? w + k * kF32PanelNr : w;
  // Named accumulators: an array indexed at run time below would live in memory inside the loop.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5], *x6 = xr[6], *x7 = xr[7];
  for (std::size_t i = 0; i < k; ++i) {
    const __m512 w0 = _mm512_loadu_ps(w + i * 16), w1 = _mm512_loadu_ps(w1p + i * 16);
    __m512 xb = _mm512_set1_ps(x0[i]);
    c00 = _mm512_fmadd_ps(xb, w0, c00);
    c01 = _mm512_fmadd_ps(xb, w1, c01);
    xb = _mm512_set1_ps(x1[i]);
    c10 = _mm512_fmadd_ps(xb, w0, c10);
    c11 = _mm512_fmadd_ps(xb, w1, c11);
    xb = _mm512_set1_ps(x2[i]);
    c20 = _mm512_fmadd_ps(xb, w0, c20);
    c21 = _mm512_fmadd_ps(xb, w1, c21);
    xb = _mm512_set1_ps(x3[i]);
    c30 = _mm512_fmadd_ps(xb, w0, c30);
    c31 = _mm512_fmadd_ps(xb, w1, c31);
    xb = _mm512_set1_ps(x4[i]);
    c40 = _mm512_fmadd_ps(xb, w0, c40);
    c41 = _mm512_fmadd_ps(xb, w1, c41);
    xb = _mm512_set1_ps(x5[i]);
    c50 = _mm512_fmadd_ps(xb, w0, c50);
    c51 = _mm512_fmadd_ps(xb, w1, c51);
    xb = _mm512_set1_ps(x6[i]);
    c60 = _mm512_fmadd_ps(xb, w0, c60);
    c61 = _mm512_fmadd_ps(xb, w1, c61);
    xb = _mm512_set1_ps(x7[i]);
    c70 = _mm512_fmadd_ps(xb, w0, c70);
    c71 = _mm512_fmadd_ps(xb, w1, c71);
  }
  const __m512 a[8][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  const __mmask16 m0 = static_cast<__mmask16>(nc >= 16 ? 0xFFFF : (1u << nc) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(nc >= 32 ? 0xFFFF : nc > 16 ? (1u << (nc - 16)) - 1 : 0);
  const __m512 b0 = bias != nullptr ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias != nullptr ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
  for (std::size_t r = 0; r < m; ++r) {
    __m512 v0 = a[r][0], v1 = a[r][1];
    if (bias != nullptr) {
      v0 = _mm512_add_ps(v0, b0);
      v1 = _mm512_add_ps(v1, b1);
    }
    if (act == Activation::relu) {
      v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
      v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
    }
    float* out = y + r * ldy;
    _mm512_mask_storeu_ps(out, m0, v0);
    _mm512_mask_storeu_ps(out + 16, m1, v1);
    if (act == Activation::gelu) {
      for (std::size_t j = 0; j < nc; ++j) out[j] = f32_gelu_ref(out[j]);
    }
  }
}

}  // namespace sparrow::kernels
