// AVX2 without VNNI. vpmaddubsw would saturate (255*127*2 > 32767), so the UINT8 activations are
// zero-extended to INT16 and multiplied with vpmaddwd, which is exact: each INT32 lane holds the sum of
// 2 of a token's 4 products, and the two halves are added when the row is done.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// The 4 weights of a block as INT16, repeated for each token of a vector.
inline __m256i block_weights(std::int32_t word) {
  return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(word)));
}

// Tokens 4g..4g+3 of a panel row, zero-extended to INT16.
inline __m256i tokens(const std::uint8_t* x, int g) {
  return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * g)));
}

template <class Index>
void spmm_rows(const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
               std::int32_t* acc) {
  constexpr std::size_t kPanelK4Bytes = 32 * 4;
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    // Pointers rather than a 32-bit block number: no zero-extensions, fewer live registers.
    const Index* k4 = block_k4 + w.row_ptr[n];
    const Index* const end = block_k4 + w.row_ptr[n + 1];
    const std::int32_t* wb = w.block_w + w.row_ptr[n];
    // Two blocks per trip, their products summed before the accumulator: fewer dependent adds per block.
    for (; end - k4 >= 2; k4 += 2, wb += 2) {
      const std::uint8_t* x = x_panel + std::size_t{k4[0]} * kPanelK4Bytes;
      const std::uint8_t* z = x_panel + std::size_t{k4[1]} * kPanelK4Bytes;
      const __m256i wx = block_weights(wb[0]), wz = block_weights(wb[1]);
      const auto pair = [&](int g) {
        return _mm256_add_epi32(_mm256_madd_epi16(tokens(x, g), wx), _mm256_madd_epi16(tokens(z, g), wz));
      };
      a0 = _mm256_add_epi32(a0, pair(0));
      a1 = _mm256_add_epi32(a1, pair(1));
      a2 = _mm256_add_epi32(a2, pair(2));
      a3 = _mm256_add_epi32(a3, pair(3));
      a4 = _mm256_add_epi32(a4, pair(4));
      a5 = _mm256_add_epi32(a5, pair(5));
      a6 = _mm256_add_epi32(a6, pair(6));
      a7 = _mm256_add_epi32(a7, pair(7));
    }
    if (k4 != end) {
      const std::uint8_t* x = x_panel + std::size_t{*k4} * kPanelK4Bytes;
      const __m256i wx = block_weights(*wb);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(tokens(x, 0), wx));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(tokens(x, 1), wx));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(tokens(x, 2), wx));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(tokens(x, 3), wx));
      a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(tokens(x, 4), wx));
      a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(tokens(x, 5), wx));
      a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(tokens(x, 6), wx));
      a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(tokens(x, 7), wx));
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

}  // namespace

void qu8_qs32_qc8w_spmm_b4_ukernel_32x1c4__avx2(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
                                                 std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 32);
  assert(n_begin <= n_end && n_end <= w.n);
  if (w.index == B4Index::u8) {
    spmm_rows<std::uint8_t>(x_panel, w, n_begin, n_end, acc);
  } else {
    spmm_rows<std::uint16_t>(x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
