// AVX-512BW without VNNI: exact widening as in the AVX2 kernel (zero-extended UINT8 x INT16 weights with
// vpmaddwd, 2 products per INT32 lane), 8 tokens per zmm.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <class Index>
void spmm_rows(const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
               std::int32_t* acc) {
  constexpr std::size_t kPanelK4Bytes = 64 * 4;
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m512i a[8];
    for (auto& v : a) v = _mm512_setzero_si512();
    const std::int32_t* wb = w.block_w + w.row_ptr[n];
    for (const Index *k4 = block_k4 + w.row_ptr[n], *end = block_k4 + w.row_ptr[n + 1]; k4 != end; ++k4, ++wb) {
      const std::uint8_t* x = x_panel + std::size_t{*k4} * kPanelK4Bytes;
      const __m512i wv = _mm512_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(*wb)));
      for (int g = 0; g < 8; ++g) {
        const __m512i xv = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * g)));
        a[g] = _mm512_add_epi32(a[g], _mm512_madd_epi16(xv, wv));
      }
    }
    std::int32_t* out = acc + (n - n_begin) * 64;
    for (int g = 0; g < 8; ++g) {
      // Each qword holds one token's two partial sums: add them and keep the low dword.
      const __m512i s = _mm512_add_epi32(a[g], _mm512_srli_epi64(a[g], 32));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * g), _mm512_cvtepi64_epi32(s));
    }
  }
}

}  // namespace

void qu8_qs32_qc8w_spmm_b4_ukernel_64x1c4__avx512skx(std::size_t mr, const std::uint8_t* x_panel,
                                                      const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
                                                      std::int32_t* acc) {
  assert(mr == 64);
  assert(n_begin <= n_end && n_end <= w.n);
  if (w.index == B4Index::u8) {
    spmm_rows<std::uint8_t>(x_panel, w, n_begin, n_end, acc);
  } else {
    spmm_rows<std::uint16_t>(x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
