// Dense INT8 GEMM, AVX2 without VNNI: exact widening (zero-extended UINT8 activations, sign-extended INT8
// weights, vpmaddwd). Sub-tiles of 8 tokens x 4 channels keep 8 accumulators + 6 operands in 16 ymm.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_gemm_ukernel_32x4c4__avx2(std::size_t mr, const std::uint8_t* x_panel, const DenseQc8wView& w,
                                              std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 32);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  constexpr std::size_t kPanelK4Bytes = 32 * 4;
  for (std::size_t ng = n_begin; ng < n_end; ng += 4) {
    const std::int8_t* wg = reinterpret_cast<const std::int8_t*>(w.w + (ng / 4) * w.k4 * 4);
    for (std::size_t sb = 0; sb < 4; ++sb) {
      __m256i a[2][4];
      for (auto& row : a)
        for (auto& v : row) v = _mm256_setzero_si256();
      const std::uint8_t* x = x_panel + sb * 32;
      for (std::size_t k4 = 0; k4 < w.k4; ++k4) {
        const __m256i w16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + k4 * 16)));
        const __m256i wc0 = _mm256_permute4x64_epi64(w16, 0x00);
        const __m256i wc1 = _mm256_permute4x64_epi64(w16, 0x55);
        const __m256i wc2 = _mm256_permute4x64_epi64(w16, 0xAA);
        const __m256i wc3 = _mm256_permute4x64_epi64(w16, 0xFF);
        const std::uint8_t* xk = x + k4 * kPanelK4Bytes;
        for (int g = 0; g < 2; ++g) {
          const __m256i xv = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xk + 16 * g)));
          a[g][0] = _mm256_add_epi32(a[g][0], _mm256_madd_epi16(xv, wc0));
          a[g][1] = _mm256_add_epi32(a[g][1], _mm256_madd_epi16(xv, wc1));
          a[g][2] = _mm256_add_epi32(a[g][2], _mm256_madd_epi16(xv, wc2));
          a[g][3] = _mm256_add_epi32(a[g][3], _mm256_madd_epi16(xv, wc3));
        }
      }
      for (std::size_t c = 0; c < 4 && ng + c < n_end; ++c) {
        const __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(a[0][c], a[1][c]), 0xD8);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + (ng + c - n_begin) * 32 + sb * 8), s);
      }
    }
  }
}

}  // namespace sparrow::kernels
