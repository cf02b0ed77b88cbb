// Quantize-and-pack, AVX2: 8 inputs per step with the reference's operations (divide, round half to even,
// add the zero point, clamp), so the bytes are identical; each step fills two 4-input groups of the panel.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_qu8_pack_row__avx2(const float* x, std::size_t k, quant::ActivationParams q, std::size_t mr, std::uint8_t* panel_row) {
  const __m256 scale = _mm256_set1_ps(q.scale), zero_point = _mm256_set1_ps(static_cast<float>(q.zero_point));
  const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(quant::kActivationMax);
  const std::size_t group_stride = mr * 4;
  std::size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zero_point), lo), hi);
    const __m256i q32 = _mm256_cvttps_epi32(v);
    const __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(q32), _mm256_extracti128_si256(q32, 1));
    const std::uint64_t bytes = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(q16, q16)));
    const std::uint32_t first = static_cast<std::uint32_t>(bytes), second = static_cast<std::uint32_t>(bytes >> 32);
    std::memcpy(panel_row + (i / 4) * group_stride, &first, 4);
    std::memcpy(panel_row + (i / 4 + 1) * group_stride, &second, 4);
  }
  // Tail (fewer than 8 inputs, and the zero padding up to a multiple of 4) with the out-of-line reference
  // function. No inline helper from the headers here: compiled with AVX2 flags, its copy could be the one
  // the linker keeps for every caller.
  const std::size_t padded = (k + 3) / 4 * 4;
  for (; i < padded; ++i) panel_row[(i / 4) * group_stride + i % 4] = i < k ? quant::quantize_activation(x[i], q) : 0;
}

}  // namespace sparrow::kernels
