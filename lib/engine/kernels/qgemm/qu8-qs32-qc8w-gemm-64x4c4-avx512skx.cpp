// Dense INT8 GEMM, AVX-512BW without VNNI: exact widening with vpmaddwd; sub-tiles of 32 tokens x 4 channels.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_gemm_ukernel_64x4c4__avx512skx(std::size_t mr, const std::uint8_t* x_panel,
                                                   const DenseQc8wView& w, std::size_t n_begin, std::size_t n_end,
                                                   std::int32_t* acc) {
  assert(mr == 64);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  constexpr std::size_t kPanelK4Bytes = 64 * 4;
  for (std::size_t ng = n_begin; ng < n_end; ng += 4) {
    const std::int8_t* wg = reinterpret_cast<const std::int8_t*>(w.w + (ng / 4) * w.k4 * 4);
    for (std::size_t sb = 0; sb < 2; ++sb) {
      __m512i a[4][4];
      for (auto& row : a)
        for (auto& v : row) v = _mm512_setzero_si512();
      const std::uint8_t* x = x_panel + sb * 128;
      for (std::size_t k4 = 0; k4 < w.k4; ++k4) {
        const __m512i w16 = _mm512_castsi256_si512(
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + k4 * 16))));
        __m512i wc[4];
        for (int c = 0; c < 4; ++c) wc[c] = _mm512_permutexvar_epi64(_mm512_set1_epi64(c), w16);
        const std::uint8_t* xk = x + k4 * kPanelK4Bytes;
        for (int g = 0; g < 4; ++g) {
          const __m512i xv = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xk + 32 * g)));
          for (int c = 0; c < 4; ++c) a[g][c] = _mm512_add_epi32(a[g][c], _mm512_madd_epi16(xv, wc[c]));
        }
      }
      for (std::size_t c = 0; c < 4 && ng + c < n_end; ++c) {
        for (int g = 0; g < 4; ++g) {
          const __m512i s = _mm512_add_epi32(a[g][c], _mm512_srli_epi64(a[g][c], 32));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + (ng + c - n_begin) * 64 + sb * 32 + g * 8),
                              _mm512_cvtepi64_epi32(s));
        }
      }
    }
  }
}

}  // namespace sparrow::kernels
