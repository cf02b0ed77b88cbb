// One token against dense INT8 weights (decoding at batch 1), 16 output channels at a time. The weights of a
// group of 4 channels are [k4][4] words, so one 64-byte load holds 4 steps of K for the 4 channels; the
// token's 4 activation words of those steps are spread to match ([x0 x0 x0 x0 x1 ... x3]) and one vpdpbusd
// multiplies them. 4 groups share that spread vector, in 4 independent accumulators. A channel's sum is its
// 4 lanes added at the end. The weights stream through once and no padding tokens are computed, unlike the
// 64-token panel kernel at one token (64 times the work).
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// 4 channels' sums from an accumulator whose lane j holds channel j % 4.
__m128i channel_sums(__m512i c) {
  const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

}  // namespace

void qu8_qs32_qc8w_gemv_ukernel_1x16c4__avx512vnni(std::size_t mr, const std::uint8_t* x, const DenseQc8wView& w,
                                                   std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 1);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  (void)mr;
  const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  const std::size_t k4 = w.k4, full = k4 / 4 * 4, tail = k4 - full;
  // The last K steps' activation words, zero past K (the weights' tail is masked too).
  alignas(16) std::uint32_t x_tail[4] = {0, 0, 0, 0};
  if (tail != 0) std::memcpy(x_tail, x + full * 4, tail * 4);
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (tail * 4)) - 1);
  const std::size_t group_words = k4 * kDenseQc8wNr;
  for (std::size_t n0 = n_begin; n0 < n_end; n0 += 16) {
    // (No std::min here: nothing inline may be compiled with ISA flags.)
    const std::size_t count = n_end - n0 < 16 ? n_end - n0 : 16, groups = (count + 3) / 4;
    // Absent groups (past n_end) read group 0 again and are not stored.
    const std::int32_t* wg[4];
    for (std::size_t g = 0; g < 4; ++g) wg[g] = w.w + (n0 / 4 + (g < groups ? g : 0)) * group_words;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
    for (std::size_t s = 0; s < full; s += 4) {
      const __m512i xv = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + s * 4))));
      c0 = _mm512_dpbusd_epi32(c0, xv, _mm512_loadu_si512(wg[0] + s * 4));
      c1 = _mm512_dpbusd_epi32(c1, xv, _mm512_loadu_si512(wg[1] + s * 4));
      c2 = _mm512_dpbusd_epi32(c2, xv, _mm512_loadu_si512(wg[2] + s * 4));
      c3 = _mm512_dpbusd_epi32(c3, xv, _mm512_loadu_si512(wg[3] + s * 4));
    }
    if (tail != 0) {
      const __m512i xv = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(_mm_load_si128(reinterpret_cast<const __m128i*>(x_tail))));
      c0 = _mm512_dpbusd_epi32(c0, xv, _mm512_maskz_loadu_epi32(tail_mask, wg[0] + full * 4));
      c1 = _mm512_dpbusd_epi32(c1, xv, _mm512_maskz_loadu_epi32(tail_mask, wg[1] + full * 4));
      c2 = _mm512_dpbusd_epi32(c2, xv, _mm512_maskz_loadu_epi32(tail_mask, wg[2] + full * 4));
      c3 = _mm512_dpbusd_epi32(c3, xv, _mm512_maskz_loadu_epi32(tail_mask, wg[3] + full * 4));
    }
    alignas(16) std::int32_t sums[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(sums), channel_sums(c0));
    _mm_store_si128(reinterpret_cast<__m128i*>(sums + 4), channel_sums(c1));
    _mm_store_si128(reinterpret_cast<__m128i*>(sums + 8), channel_sums(c2));
    _mm_store_si128(reinterpret_cast<__m128i*>(sums + 12), channel_sums(c3));
    std::memcpy(acc + (n0 - n_begin), sums, count * sizeof(std::int32_t));
  }
}

}  // namespace sparrow::kernels
