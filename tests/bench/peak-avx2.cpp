#include <immintrin.h>

#include "peak.h"

namespace sparrow::bench {

volatile std::int64_t g_peak_sink = 0;

namespace {
// Keeps the results observable so the loops are not optimized away.
void sink(const __m256i* v, int n) {
  __m256i s = v[0];
  for (int i = 1; i < n; ++i) s = _mm256_xor_si256(s, v[i]);
  g_peak_sink = _mm256_extract_epi64(s, 0);
}
}  // namespace

double peak_vpmaddubsw_ymm(std::int64_t iterations) {
  __m256i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
  const __m256i w = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (std::int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) {
      // The accumulator doubles as the UINT8 operand so the multiplies cannot be hoisted out of the loop.
      const __m256i p = _mm256_maddubs_epi16(acc[i], w);
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(p, ones));
    }
  }
  sink(acc, 12);
  return 2.0 * 32 * 12 * static_cast<double>(iterations);
}

double peak_vpmaddwd_ymm(std::int64_t iterations) {
  __m256i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
  const __m256i w = _mm256_set1_epi16(3);
  for (std::int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_madd_epi16(acc[i], w);
  }
  sink(acc, 12);
  return 2.0 * 16 * 12 * static_cast<double>(iterations);
}

double peak_fma_ymm(std::int64_t iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
  for (std::int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256i bits[12];
  for (int i = 0; i < 12; ++i) bits[i] = _mm256_castps_si256(acc[i]);
  sink(bits, 12);
  return 2.0 * 8 * 12 * static_cast<double>(iterations);
}

}  // namespace sparrow::bench
