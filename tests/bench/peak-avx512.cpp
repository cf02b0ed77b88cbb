#include <immintrin.h>

#include "peak.h"

namespace sparrow::bench {

double peak_fma_zmm(std::int64_t iterations) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  for (std::int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  g_peak_sink = static_cast<std::int64_t>(lanes[0]);
  return 2.0 * 16 * 16 * static_cast<double>(iterations);
}

double peak_vpdpbusd_zmm(std::int64_t iterations) {
  __m512i a0 = _mm512_set1_epi32(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  __m512i a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  const __m512i x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
  for (std::int64_t it = 0; it < iterations; ++it) {
    // Asm, 16 independent accumulators, no loads (GCC 12 copies accumulators around the intrinsic); two
    // statements because asm takes at most 30 operands.
    __asm__(
        "vpdpbusd %[w], %[x], %[a0]\n\t"
        "vpdpbusd %[w], %[x], %[a1]\n\t"
        "vpdpbusd %[w], %[x], %[a2]\n\t"
        "vpdpbusd %[w], %[x], %[a3]\n\t"
        "vpdpbusd %[w], %[x], %[a4]\n\t"
        "vpdpbusd %[w], %[x], %[a5]\n\t"
        "vpdpbusd %[w], %[x], %[a6]\n\t"
        "vpdpbusd %[w], %[x], %[a7]\n\t"
        "vpdpbusd %[w], %[x], %[a8]\n\t"
        "vpdpbusd %[w], %[x], %[a9]\n\t"
        "vpdpbusd %[w], %[x], %[a10]\n\t"
        "vpdpbusd %[w], %[x], %[a11]\n\t"
        "vpdpbusd %[w], %[x], %[a12]\n\t"
        "vpdpbusd %[w], %[x], %[a13]"
        : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4), [a5] "+v"(a5), [a6] "+v"(a6),
          [a7] "+v"(a7), [a8] "+v"(a8), [a9] "+v"(a9), [a10] "+v"(a10), [a11] "+v"(a11), [a12] "+v"(a12),
          [a13] "+v"(a13)
        : [x] "v"(x), [w] "v"(w));
    __asm__("vpdpbusd %[w], %[x], %[a14]\n\tvpdpbusd %[w], %[x], %[a15]" : [a14] "+v"(a14), [a15] "+v"(a15)
            : [x] "v"(x), [w] "v"(w));
  }
  const __m512i s = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                       _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7))),
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)),
                       _mm512_add_epi32(_mm512_add_epi32(a12, a13), _mm512_add_epi32(a14, a15))));
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  g_peak_sink = lanes[0];
  return 2.0 * 64 * 16 * static_cast<double>(iterations);
}

}  // namespace sparrow::bench
