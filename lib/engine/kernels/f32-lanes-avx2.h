// Lane helpers for the AVX2 FP32 kernels: horizontal max and sum of 8 floats, and the mask of a row's tail.
// Include only from files compiled with the AVX2 flags; `static inline`, so no object exports a copy.
#pragma once

#include <immintrin.h>

#include <cstddef>

static inline float sparrow_f32_max_lanes_avx2(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

static inline float sparrow_f32_sum_lanes_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// All ones in the first `count` (< 8) lanes, for _mm256_maskload_ps / _mm256_maskstore_ps.
static inline __m256i sparrow_tail_mask_avx2(std::size_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
