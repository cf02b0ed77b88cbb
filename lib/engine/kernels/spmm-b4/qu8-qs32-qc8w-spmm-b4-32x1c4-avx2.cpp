// AVX2 without VNNI. vpmaddubsw would saturate (255*127*2 > 32767), so the UINT8 activations are
// zero-extended to INT16 and multiplied with vpmaddwd, which is exact: each INT32 lane holds the sum of
// 2 of a token's 4 products, and the two halves are added when the row is done.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_spmm_b4_ukernel_32x1c4__avx2(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
                                                 std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 32);
  assert(n_begin <= n_end && n_end <= w.n);
  constexpr std::size_t kPanelK4Bytes = 32 * 4;
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    const std::uint64_t* blk = w.blocks + w.row_ptr[n];
    const std::uint64_t* const end = w.blocks + w.row_ptr[n + 1];
    for (; blk != end; ++blk) {
      const std::uint64_t rec = *blk;
      const std::uint8_t* x = x_panel + static_cast<std::uint32_t>(rec) * kPanelK4Bytes;
      const __m128i w8 = _mm_cvtsi32_si128(static_cast<int>(rec >> 32));
      const __m256i wv = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(w8));
      const auto xg = [x](int g) { return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * g))); };
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xg(0), wv));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xg(1), wv));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xg(2), wv));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xg(3), wv));
      a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(xg(4), wv));
      a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(xg(5), wv));
      a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(xg(6), wv));
      a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(xg(7), wv));
    }
    // hadd gives tokens [0 1 4 5 | 2 3 6 7] of a group pair; the qword permute restores token order.
    std::int32_t* out = acc + (n - n_begin) * 32;
    const auto store = [out](int i, __m256i lo, __m256i hi) {
      const __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * i), s);
    };
    store(0, a0, a1);
    store(1, a2, a3);
    store(2, a4, a5);
    store(3, a6, a7);
  }
}

}  // namespace sparrow::kernels
