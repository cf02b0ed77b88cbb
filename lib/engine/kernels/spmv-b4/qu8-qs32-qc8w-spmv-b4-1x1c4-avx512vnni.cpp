// One token against sparse 1x4-block weights (decoding at batch 1): per output channel, 16 blocks at a time,
// the token's activation words at the blocks' column indices are collected into one vector and multiplied
// with the 16 weight words by one vpdpbusd; the channel's sum is the 16 lanes added. The weights stream
// through once and no padding tokens are computed, unlike the 64-token panel kernel at one token. The words
// are gathered four at a time into 128-bit lanes (vpinsrd, then vinserti32x4): writing them to memory and
// loading the vector back stalls on store forwarding and ran at half the speed. (No vpgatherdd and a lane sum
// rather than a reduce intrinsic keep it within what the AVX-512 emulation of tests/engine/emulation provides.)
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

// The activation words of blocks b..b+3.
template <class Index>
inline __m128i quad(const std::uint8_t* x, const Index* block_k4, std::uint32_t b) {
  return _mm_setr_epi32(word_at(x + std::size_t{block_k4[b]} * 4), word_at(x + std::size_t{block_k4[b + 1]} * 4),
                        word_at(x + std::size_t{block_k4[b + 2]} * 4), word_at(x + std::size_t{block_k4[b + 3]} * 4));
}

template <class Index>
void spmv_rows(const std::uint8_t* x, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  const Index* block_k4 = static_cast<const Index*>(w.block_k4);
  alignas(64) std::int32_t lanes[16];
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m512i sum = _mm512_setzero_si512();
    const std::uint32_t end = w.row_ptr[n + 1];
    std::uint32_t b = w.row_ptr[n];
    for (; b + 16 <= end; b += 16) {
      __m512i acts16 = _mm512_castsi128_si512(quad(x, block_k4, b));
      acts16 = _mm512_inserti32x4(acts16, quad(x, block_k4, b + 4), 1);
      acts16 = _mm512_inserti32x4(acts16, quad(x, block_k4, b + 8), 2);
      acts16 = _mm512_inserti32x4(acts16, quad(x, block_k4, b + 12), 3);
      sum = _mm512_dpbusd_epi32(sum, acts16, _mm512_loadu_si512(w.block_w + b));
    }
    // The last 0-15 blocks: four at a time on 128 bits, then one by one.
    __m128i sum4 = _mm_setzero_si128();
    for (; b + 4 <= end; b += 4)
      sum4 = _mm_dpbusd_epi32(sum4, quad(x, block_k4, b), _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.block_w + b)));
    _mm512_store_si512(lanes, sum);
    alignas(16) std::int32_t lanes4[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes4), sum4);
    std::int32_t total = lanes4[0] + lanes4[1] + lanes4[2] + lanes4[3];
    for (const std::int32_t l : lanes) total += l;
    const auto* block_w = reinterpret_cast<const std::int8_t*>(w.block_w);
    for (; b < end; ++b)
      for (std::size_t i = 0; i < 4; ++i)
        total += std::int32_t{x[std::size_t{block_k4[b]} * 4 + i]} * std::int32_t{block_w[std::size_t{b} * 4 + i]};
    acc[n - n_begin] = total;
  }
}

}  // namespace

void qu8_qs32_qc8w_spmv_b4_ukernel_1x1c4__avx512vnni(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
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
