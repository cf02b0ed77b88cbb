// Fused epilogue, AVX-512: the scalar reference's FP32 operations in its order (no contraction), with the
// AVX2 kernels' GELU done 16 lanes wide (f32-gelu-avx512.h, the same operations lane for lane), so every
// output is bit-identical to the AVX2 epilogue's.
// - Row-major outputs (FP32, UINT8): 16x16 blocks of the [channel][token] INT32 tile are transposed first,
//   so each vector is 16 channels of one token and output rows are stored whole.
// - Panel outputs (the next layer's UINT8 activation panels, [K4][mr][4]): no float transpose. Per group of
//   4 channels, 16 tokens of each channel are one vector (per-channel terms are broadcasts); the 4 requantized
//   byte vectors interleave into the 64 panel bytes of those 16 tokens.
// Tokens past m are read with masked loads, so any mr works (the tests use panel widths that are not
// multiples of 16).
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/gelu/f32-gelu-avx512.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// Everything below is forced inline: an out-of-line call would pass 16 vectors through memory.

__attribute__((always_inline)) inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // Each 128-bit lane now holds a 4x4 block; two rounds of lane shuffles put the blocks in place.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
  }
}

// The reference's value from corrected accumulators: float(acc - zp * row_sum) * (s_x * s_w) + bias, activation.
__attribute__((always_inline)) inline __m512 value(__m512i acc, __m512i zp_row_sum, __m512 scale, __m512 bias,
                                                   const QEpilogueParams& p) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zp_row_sum)), scale);
  if (p.bias != nullptr) v = _mm512_add_ps(v, bias);
  if (p.activation == Activation::relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
  if (p.activation == Activation::gelu) v = sparrow_f32_gelu_avx512(v);
  return v;
}

// quant::quantize_activation on 16 lanes: division, round half to even, zero point, clamp; as 16 bytes.
__attribute__((always_inline)) inline __m128i requantize(__m512 v, const QEpilogueParams& p) {
  __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, _mm512_set1_ps(p.y.scale)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm512_add_ps(q, _mm512_set1_ps(static_cast<float>(p.y.zero_point)));
  q = _mm512_min_ps(_mm512_max_ps(q, _mm512_setzero_ps()), _mm512_set1_ps(quant::kActivationMax));
  return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q));
}

__mmask16 lanes(std::size_t count) { return count >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << count) - 1); }

// Per-channel terms of channels n .. n + 15 (zero past `count`), once per channel group.
struct ChannelTerms {
  __m512i zp_row_sum;
  __m512 scale, bias;
};

__attribute__((always_inline)) inline ChannelTerms channel_terms(std::size_t n, std::size_t count, const QEpilogueParams& p) {
  const __mmask16 k = lanes(count);
  return {_mm512_mullo_epi32(_mm512_maskz_loadu_epi32(k, p.row_sum + n), _mm512_set1_epi32(p.x_zero_point)),
          _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p.w_scale + n), _mm512_set1_ps(p.x_scale)),
          p.bias != nullptr ? _mm512_maskz_loadu_ps(k, p.bias + n) : _mm512_setzero_ps()};
}

// Values of tokens t0.. (rows of r) x channels j0.. (lanes): the [channel][token] tile transposed, then the
// per-channel terms, which are plain vectors in this orientation.
__attribute__((always_inline)) inline void block_values(std::size_t m, std::size_t mr, std::size_t nc, std::size_t t0,
                                                        std::size_t j0, const std::int32_t* acc, const ChannelTerms& ct,
                                                        const QEpilogueParams& p, __m512 r[16]) {
  const __mmask16 tokens = lanes(m - t0);
  for (std::size_t j = 0; j < 16; ++j) {
    r[j] = j0 + j < nc ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi32(tokens, acc + (j0 + j) * mr + t0)) : _mm512_setzero_ps();
  }
  transpose16x16(r);
  for (std::size_t t = 0; t < 16; ++t) r[t] = value(_mm512_castps_si512(r[t]), ct.zp_row_sum, ct.scale, ct.bias, p);
}

// Row-major outputs: store(t, j0, channels, v) writes token t's values of channels j0.. (mask `channels`).
template <class Store>
__attribute__((always_inline)) inline void row_major(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                                     const std::int32_t* acc, const QEpilogueParams& p, Store store) {
  assert(m <= mr);
  for (std::size_t j0 = 0; j0 < nc; j0 += 16) {
    const __mmask16 channels = lanes(nc - j0);
    const ChannelTerms ct = channel_terms(n_begin + j0, nc - j0, p);
    for (std::size_t t0 = 0; t0 < m; t0 += 16) {
      __m512 r[16];
      block_values(m, mr, nc, t0, j0, acc, ct, p, r);
      const std::size_t rows = m - t0 < 16 ? m - t0 : 16;
      for (std::size_t t = 0; t < rows; ++t) store(t0 + t, j0, channels, r[t]);
    }
  }
}

}  // namespace

void qs32_f32_qc8w_epilogue__avx512skx(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                       const std::int32_t* acc, const QEpilogueParams& p, float* y, std::size_t ldy) {
  if (p.residual == nullptr) {
    row_major(m, mr, n_begin, nc, acc, p, [&](std::size_t t, std::size_t j0, __mmask16 channels, __m512 v) {
      _mm512_mask_storeu_ps(y + t * ldy + n_begin + j0, channels, v);
    });
    return;
  }
  // The residual goes in between the bias and the activation, as in the reference.
  QEpilogueParams linear_part = p;
  linear_part.activation = Activation::none;
  row_major(m, mr, n_begin, nc, acc, linear_part, [&](std::size_t t, std::size_t j0, __mmask16 channels, __m512 v) {
    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(channels, p.residual + t * ldy + n_begin + j0));
    if (p.activation == Activation::relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (p.activation == Activation::gelu) v = sparrow_f32_gelu_avx512(v);
    _mm512_mask_storeu_ps(y + t * ldy + n_begin + j0, channels, v);
  });
}

void qs32_qu8_qc8w_epilogue__avx512skx(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                       const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y,
                                       std::size_t ldy) {
  assert(p.residual == nullptr);
  row_major(m, mr, n_begin, nc, acc, p, [&](std::size_t t, std::size_t j0, __mmask16 channels, __m512 v) {
    _mm_mask_storeu_epi8(y + t * ldy + n_begin + j0, channels, requantize(v, p));
  });
}

void qs32_qu8_qc8w_panel_epilogue__avx512skx(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                             const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y_panel) {
  assert(m <= mr && n_begin % 4 == 0);
  for (std::size_t j0 = 0; j0 < nc; j0 += 4) {
    const std::size_t group_channels = nc - j0 < 4 ? nc - j0 : 4;
    std::uint8_t* group = y_panel + (n_begin + j0) / 4 * mr * 4;
    // Each channel's terms as broadcasts, once per group rather than once per 16 tokens.
    ChannelTerms terms[4];
    for (std::size_t j = 0; j < group_channels; ++j) {
      const std::size_t n = n_begin + j0 + j;
      terms[j] = {_mm512_set1_epi32(p.x_zero_point * p.row_sum[n]), _mm512_set1_ps(p.x_scale * p.w_scale[n]),
                  _mm512_set1_ps(p.bias != nullptr ? p.bias[n] : 0.0f)};
    }
    for (std::size_t t0 = 0; t0 < m; t0 += 16) {
      const __mmask16 tokens = lanes(m - t0);
      __m128i bytes[4];
      for (std::size_t j = 0; j < 4; ++j) {
        if (j >= group_channels) {
          bytes[j] = _mm_setzero_si128();
          continue;
        }
        const __m512i a = _mm512_maskz_loadu_epi32(tokens, acc + (j0 + j) * mr + t0);
        bytes[j] = requantize(value(a, terms[j].zp_row_sum, terms[j].scale, terms[j].bias, p), p);
      }
      // [channel][16 tokens] bytes -> [16 tokens][4 channels]: the panel's bytes for these tokens, in order.
      const __m128i c01lo = _mm_unpacklo_epi8(bytes[0], bytes[1]), c01hi = _mm_unpackhi_epi8(bytes[0], bytes[1]);
      const __m128i c23lo = _mm_unpacklo_epi8(bytes[2], bytes[3]), c23hi = _mm_unpackhi_epi8(bytes[2], bytes[3]);
      alignas(64) __m128i out[4] = {_mm_unpacklo_epi16(c01lo, c23lo), _mm_unpackhi_epi16(c01lo, c23lo),
                                    _mm_unpacklo_epi16(c01hi, c23hi), _mm_unpackhi_epi16(c01hi, c23hi)};
      std::uint8_t* dst = group + t0 * 4;
      const std::size_t rows = m - t0 < 16 ? m - t0 : 16;
      if (group_channels == 4) {
        // Whole 4-byte token slots: a masked 64-byte store of the first `rows` of them.
        const __mmask64 slots = rows == 16 ? ~__mmask64{0} : (__mmask64{1} << (4 * rows)) - 1;
        _mm512_mask_storeu_epi8(dst, slots, _mm512_load_si512(out));
      } else {
        // A ragged last group: only channels < N are written.
        const auto* src = reinterpret_cast<const std::uint8_t*>(out);
        for (std::size_t t = 0; t < rows; ++t) std::memcpy(dst + t * 4, src + t * 4, group_channels);
      }
    }
  }
}

}  // namespace sparrow::kernels
