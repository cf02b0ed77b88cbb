// Fused epilogue, AVX2: the same FP32 operations in the same order as the scalar reference (bit-identical),
// except that GELU is the 8-lane f32-gelu-avx2.h (within 2e-7 * max(1, |x|) of the reference, and identical to
// the AVX2 gelu micro-kernel). Requantized outputs are therefore exactly the FP32 outputs quantized by the
// scheme, so a layer writing the next one's panels gives what an FP32 output packed by that layer would (a
// scalar GELU here cost more than the GEMM it follows). 8x8 blocks of the [channel][token] INT32 tile are transposed first, so
// each vector is 8 channels of one token: per-channel terms are loaded once per channel group and output rows
// are stored whole.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/gelu/f32-gelu-avx2.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// Everything below is forced inline: called per 8x8 block, an out-of-line call passes the block through memory.

__attribute__((always_inline)) inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Per-channel terms of 8 consecutive channels (zero past nc), computed once per channel group.
struct ChannelTerms {
  __m256i zp_row_sum;
  __m256 scale, bias;
};

ChannelTerms channel_terms(std::size_t n, std::size_t count, const QEpilogueParams& p) {
  alignas(32) std::int32_t zr[8] = {};
  alignas(32) float sc[8] = {}, bi[8] = {};
  for (std::size_t j = 0; j < count; ++j) {
    zr[j] = p.x_zero_point * p.row_sum[n + j];
    sc[j] = p.x_scale * p.w_scale[n + j];
    bi[j] = p.bias != nullptr ? p.bias[n + j] : 0.0f;
  }
  return {_mm256_load_si256(reinterpret_cast<const __m256i*>(zr)), _mm256_load_ps(sc), _mm256_load_ps(bi)};
}

// Values of tokens t0..t0+7 (rows) x 8 channels (columns) in the reference's operation order: the INT32
// tile is transposed first, so the per-channel terms are plain vectors.
__attribute__((always_inline)) inline void block_values(std::size_t mr, std::size_t t0, std::size_t j0, std::size_t nc, const std::int32_t* acc,
                  const ChannelTerms& ct, const QEpilogueParams& p, __m256 r[8]) {
  for (std::size_t j = 0; j < 8; ++j) {
    r[j] = j0 + j < nc ? _mm256_loadu_ps(reinterpret_cast<const float*>(acc + (j0 + j) * mr + t0)) : _mm256_setzero_ps();
  }
  transpose8x8(r);
  for (std::size_t t = 0; t < 8; ++t) {
    const __m256i corrected = _mm256_sub_epi32(_mm256_castps_si256(r[t]), ct.zp_row_sum);
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(corrected), ct.scale);
    if (p.bias != nullptr) v = _mm256_add_ps(v, ct.bias);
    if (p.activation == Activation::relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
    if (p.activation == Activation::gelu) v = sparrow_f32_gelu_avx2(v);
    r[t] = v;
  }
}

__m256i requantize(__m256 v, const QEpilogueParams& p) {
  __m256 q = _mm256_round_ps(_mm256_div_ps(v, _mm256_set1_ps(p.y.scale)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_add_ps(q, _mm256_set1_ps(static_cast<float>(p.y.zero_point)));
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_setzero_ps()), _mm256_set1_ps(quant::kActivationMax));
  return _mm256_cvttps_epi32(q);
}

}  // namespace

void qs32_f32_qc8w_epilogue__avx2(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                  const std::int32_t* acc, const QEpilogueParams& p, float* y, std::size_t ldy) {
  assert(m <= mr && mr % 8 == 0);
  // With a residual, it goes in between the bias and the activation, as in the reference.
  QEpilogueParams linear_part = p;
  if (p.residual != nullptr) linear_part.activation = Activation::none;
  for (std::size_t j0 = 0; j0 < nc; j0 += 8) {
    const std::size_t cols = nc - j0 < 8 ? nc - j0 : 8;
    const ChannelTerms ct = channel_terms(n_begin + j0, cols, p);
    for (std::size_t t0 = 0; t0 < m; t0 += 8) {
      __m256 r[8];
      block_values(mr, t0, j0, nc, acc, ct, linear_part, r);
      const std::size_t rows = m - t0 < 8 ? m - t0 : 8;
      float* out = y + t0 * ldy + n_begin + j0;
      for (std::size_t t = 0; t < rows && p.residual != nullptr; ++t) {
        alignas(32) float res[8] = {};
        std::memcpy(res, p.residual + (t0 + t) * ldy + n_begin + j0, cols * sizeof(float));
        __m256 v = _mm256_add_ps(r[t], _mm256_load_ps(res));
        if (p.activation == Activation::relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
        if (p.activation == Activation::gelu) v = sparrow_f32_gelu_avx2(v);
        r[t] = v;
      }
      if (cols == 8) {
        for (std::size_t t = 0; t < rows; ++t) _mm256_storeu_ps(out + t * ldy, r[t]);
      } else {
        for (std::size_t t = 0; t < rows; ++t) {
          alignas(32) float tmp[8];
          _mm256_store_ps(tmp, r[t]);
          std::memcpy(out + t * ldy, tmp, cols * sizeof(float));
        }
      }
    }
  }
}

void qs32_qu8_qc8w_epilogue__avx2(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                  const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y,
                                  std::size_t ldy) {
  assert(m <= mr && mr % 8 == 0);
  for (std::size_t j0 = 0; j0 < nc; j0 += 8) {
    const std::size_t cols = nc - j0 < 8 ? nc - j0 : 8;
    const ChannelTerms ct = channel_terms(n_begin + j0, cols, p);
    for (std::size_t t0 = 0; t0 < m; t0 += 8) {
      __m256 r[8];
      block_values(mr, t0, j0, nc, acc, ct, p, r);
      const std::size_t rows = m - t0 < 8 ? m - t0 : 8;
      std::uint8_t* out = y + t0 * ldy + n_begin + j0;
      for (std::size_t t = 0; t < rows; ++t) {
        const __m256i q32 = requantize(r[t], p);
        const __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(q32), _mm256_extracti128_si256(q32, 1));
        const __m128i q8 = _mm_packus_epi16(q16, q16);
        alignas(16) std::uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), q8);
        if (cols == 8) {
          std::memcpy(out + t * ldy, tmp, 8);  // constant size: no library call
        } else {
          std::memcpy(out + t * ldy, tmp, cols);
        }
      }
    }
  }
}

void qs32_qu8_qc8w_panel_epilogue__avx2(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                        const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y_panel) {
  assert(m <= mr && mr % 8 == 0 && n_begin % 4 == 0);
  for (std::size_t j0 = 0; j0 < nc; j0 += 8) {
    const std::size_t cols = nc - j0 < 8 ? nc - j0 : 8;
    const ChannelTerms ct = channel_terms(n_begin + j0, cols, p);
    // Channels j0..j0+3 and j0+4..j0+7 are two 4-channel groups: [token][4] rows of two panel blocks.
    std::uint8_t* group0 = y_panel + (n_begin + j0) / 4 * mr * 4;
    std::uint8_t* group1 = group0 + mr * 4;
    for (std::size_t t0 = 0; t0 < m; t0 += 8) {
      __m256 r[8];
      block_values(mr, t0, j0, nc, acc, ct, p, r);
      const std::size_t rows = m - t0 < 8 ? m - t0 : 8;
      for (std::size_t t = 0; t < rows; ++t) {
        const __m256i q32 = requantize(r[t], p);
        const __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(q32), _mm256_extracti128_si256(q32, 1));
        const std::uint64_t bytes = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(q16, q16)));
        const std::uint32_t lo = static_cast<std::uint32_t>(bytes), hi = static_cast<std::uint32_t>(bytes >> 32);
        // Constant sizes in the common case: a memcpy of run-time size is a library call.
        if (cols == 8) {
          std::memcpy(group0 + (t0 + t) * 4, &lo, 4);
          std::memcpy(group1 + (t0 + t) * 4, &hi, 4);
        } else {
          std::memcpy(group0 + (t0 + t) * 4, &lo, cols < 4 ? cols : 4);
          if (cols > 4) std::memcpy(group1 + (t0 + t) * 4, &hi, cols - 4);
        }
      }
    }
  }
}

}  // namespace sparrow::kernels
