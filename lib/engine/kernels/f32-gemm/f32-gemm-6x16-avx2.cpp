// FP32 GEMM, AVX2+FMA: 6 rows x 16 channels = 12 accumulators; per k one 16-float weight row (2 loads)
// and 6 broadcasts feed 12 FMAs.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemm_ukernel_6x16__avx2(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                 const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m >= 1 && m <= 6 && nc >= 1 && nc <= 16);
  // Rows past m repeat the last row: computed, never stored, so the loop has no branches.
  const float* xr[6];
  for (std::size_t r = 0; r < 6; ++r) xr[r] = x + (r < m ? r : m - 1) * ldx;
  // Named accumulators: an array indexed at run time below would live in memory inside the loop.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5];
  for (std::size_t i = 0; i < k; ++i) {
    const __m256 w0 = _mm256_loadu_ps(w + i * 16), w1 = _mm256_loadu_ps(w + i * 16 + 8);
    __m256 xb = _mm256_broadcast_ss(x0 + i);
    c00 = _mm256_fmadd_ps(xb, w0, c00);
    c01 = _mm256_fmadd_ps(xb, w1, c01);
    xb = _mm256_broadcast_ss(x1 + i);
    c10 = _mm256_fmadd_ps(xb, w0, c10);
    c11 = _mm256_fmadd_ps(xb, w1, c11);
    xb = _mm256_broadcast_ss(x2 + i);
    c20 = _mm256_fmadd_ps(xb, w0, c20);
    c21 = _mm256_fmadd_ps(xb, w1, c21);
    xb = _mm256_broadcast_ss(x3 + i);
    c30 = _mm256_fmadd_ps(xb, w0, c30);
    c31 = _mm256_fmadd_ps(xb, w1, c31);
    xb = _mm256_broadcast_ss(x4 + i);
    c40 = _mm256_fmadd_ps(xb, w0, c40);
    c41 = _mm256_fmadd_ps(xb, w1, c41);
    xb = _mm256_broadcast_ss(x5 + i);
    c50 = _mm256_fmadd_ps(xb, w0, c50);
    c51 = _mm256_fmadd_ps(xb, w1, c51);
  }
  const __m256 a[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  alignas(32) float tile[16];
  for (std::size_t r = 0; r < m; ++r) {
    __m256 v0 = a[r][0], v1 = a[r][1];
    if (bias != nullptr) {
      _mm256_store_ps(tile, _mm256_setzero_ps());
      _mm256_store_ps(tile + 8, _mm256_setzero_ps());
      for (std::size_t j = 0; j < nc; ++j) tile[j] = bias[j];
      v0 = _mm256_add_ps(v0, _mm256_load_ps(tile));
      v1 = _mm256_add_ps(v1, _mm256_load_ps(tile + 8));
    }
    if (act == Activation::relu) {
      v0 = _mm256_max_ps(v0, _mm256_setzero_ps());
      v1 = _mm256_max_ps(v1, _mm256_setzero_ps());
    }
    float* out = y + r * ldy;
    if (nc == 16 && act != Activation::gelu) {
      _mm256_storeu_ps(out, v0);
      _mm256_storeu_ps(out + 8, v1);
      continue;
    }
    _mm256_store_ps(tile, v0);
    _mm256_store_ps(tile + 8, v1);
    for (std::size_t j = 0; j < nc; ++j) out[j] = act == Activation::gelu ? f32_gelu_ref(tile[j]) : tile[j];
  }
}

}  // namespace sparrow::kernels
