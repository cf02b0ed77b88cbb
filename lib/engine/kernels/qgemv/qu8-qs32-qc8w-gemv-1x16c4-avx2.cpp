// One token against dense INT8 weights on AVX2 (decoding at batch 1), 16 output channels at a time. A group
// of 4 channels stores each K step as 4 words, 16 bytes: sign-extended to INT16 they meet the step's
// activation word, zero-extended and repeated for the 4 channels, in one vpmaddwd (exact, as in the AVX2
// panel kernels: vpmaddubsw would saturate). 4 groups share that activation vector, in 4 independent
// accumulators; lanes 2j and 2j+1 hold channel j's sums. The weights stream through once and no padding
// tokens are computed, unlike the 32-token panel kernel at one token.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

inline __m256i step_weights(const std::int32_t* w) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
}

// Channel j's sum = lanes 2j + 2j+1 of c, into out[0..3].
inline void channel_sums(__m256i c, std::int32_t* out) {
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), c);
  for (int j = 0; j < 4; ++j) out[j] = lanes[2 * j] + lanes[2 * j + 1];
}

}  // namespace

void qu8_qs32_qc8w_gemv_ukernel_1x16c4__avx2(std::size_t mr, const std::uint8_t* x, const DenseQc8wView& w,
                                             std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 1);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  (void)mr;
  const std::size_t k4 = w.k4, group_words = k4 * kDenseQc8wNr;
  for (std::size_t n0 = n_begin; n0 < n_end; n0 += 16) {
    // (No std::min here: nothing inline may be compiled with ISA flags.)
    const std::size_t count = n_end - n0 < 16 ? n_end - n0 : 16, groups = (count + 3) / 4;
    // Absent groups (past n_end) read group 0 again and are not stored.
    const std::int32_t* wg[4];
    for (std::size_t g = 0; g < 4; ++g) wg[g] = w.w + (n0 / 4 + (g < groups ? g : 0)) * group_words;
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
    for (std::size_t s = 0; s < k4; ++s) {
      std::int32_t word;
      std::memcpy(&word, x + s * 4, 4);
      const __m256i xv = _mm256_cvtepu8_epi16(_mm_set1_epi32(word));
      c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(xv, step_weights(wg[0] + s * 4)));
      c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(xv, step_weights(wg[1] + s * 4)));
      c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(xv, step_weights(wg[2] + s * 4)));
      c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(xv, step_weights(wg[3] + s * 4)));
    }
    std::int32_t sums[16];
    channel_sums(c0, sums);
    channel_sums(c1, sums + 4);
    channel_sums(c2, sums + 8);
    channel_sums(c3, sums + 12);
    std::memcpy(acc + (n0 - n_begin), sums, count * sizeof(std::int32_t));
  }
}

}  // namespace sparrow::kernels
