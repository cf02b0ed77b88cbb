// One token against sparse 1x4-block weights on AVX2 (decoding at batch 1): per output channel, 8 blocks at a
// time, the token's activation words at the blocks' column indices are collected into two 16-byte vectors,
// zero-extended to INT16 and multiplied with the blocks' weights by vpmaddwd (exact, as in the AVX2 panel
// kernel: vpmaddubsw would saturate); the channel's sum is the 8 lanes added. The weights stream through once
// and no padding tokens are computed, unlike the 32-token panel kernel at one token.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

inline std::int32_t word_at(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The activation words of blocks b..b+3 (their 4 column groups), as 16 INT16.
template <class Index>
inline __m256i activations(const std::uint8_t* x, const Index* block_k4, std::uint32_t b) {
  const __m128i words = _mm_setr_epi32(word_at(x + std::size_t{block_k4[b]} * 4), word_at(x + std::size_t{block_k4[b + 1]} * 4),
                                       word_at(x + std::size_t{block_k4[b + 2]} * 4), word_at(x + std::size_t{block_k4[b + 3]} * 4));
  return _mm256_cvtepu8_epi16(words);
}

inline __m256i weights(const std::int8_t* w) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
}

template <class Index>
void spmv_rows(const std::uint8_t* x, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  const Index* block_k4 = static_cast<const Index*>(w.block_k4);
  const std::int8_t* block_w = reinterpret_cast<const std::int8_t*>(w.block_w);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    std::uint32_t b = w.row_ptr[n];
    const std::uint32_t end = w.row_ptr[n + 1];
    for (; b + 8 <= end; b += 8) {
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(activations(x, block_k4, b), weights(block_w + std::size_t{b} * 4)));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(activations(x, block_k4, b + 4), weights(block_w + std::size_t{b + 4} * 4)));
    }
    for (; b + 4 <= end; b += 4)
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(activations(x, block_k4, b), weights(block_w + std::size_t{b} * 4)));
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi32(s0, s1));
    std::int32_t total = 0;
    for (const std::int32_t l : lanes) total += l;
    for (; b < end; ++b)  // the last 0-3 blocks
      for (std::size_t i = 0; i < 4; ++i)
        total += std::int32_t{x[std::size_t{block_k4[b]} * 4 + i]} * std::int32_t{block_w[std::size_t{b} * 4 + i]};
    acc[n - n_begin] = total;
  }
}

}  // namespace

void qu8_qs32_qc8w_spmv_b4_ukernel_1x1c4__avx2(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
                                               std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 1 && w.rows == 1);
  assert(n_begin <= n_end && n_end <= w.n);
  (void)mr;
  if (w.index == B4Index::u8) {
    spmv_rows<std::uint8_t>(x_panel, w, n_begin, n_end, acc);
  } else {
    spmv_rows<std::uint16_t>(x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
