#include "engine/kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <emmintrin.h>

#include "engine/kernels/thread_pool.h"

namespace sparrow::kernels {

#define SPR_LAYERNORM(isa, fn) {#fn, isa, fn},
const std::vector<LayerNormKernel>& layer_norm_kernels() {
  static const std::vector<LayerNormKernel> table = {
#include "engine/kernels/layernorm/f32-layernorm.inc"
  };
  return table;
}
#undef SPR_LAYERNORM
#define SPR_SOFTMAX(isa, fn) {#fn, isa, fn},
const std::vector<ExpMinusMaxSumKernel>& exp_minus_max_sum_kernels() {
  static const std::vector<ExpMinusMaxSumKernel> table = {
#include "engine/kernels/softmax/f32-exp-minus-max-sum.inc"
  };
  return table;
}
#undef SPR_SOFTMAX
#define SPR_GELU(isa, fn) {#fn, isa, fn},
const std::vector<GeluKernel>& gelu_kernels() {
  static const std::vector<GeluKernel> table = {
#include "engine/kernels/gelu/f32-gelu.inc"
  };
  return table;
}
#undef SPR_GELU

const LayerNormKernel& layer_norm_kernel() {
  static const LayerNormKernel& k = select_kernel(layer_norm_kernels(), "layer norm");
  return k;
}
const ExpMinusMaxSumKernel& exp_minus_max_sum_kernel() {
  static const ExpMinusMaxSumKernel& k = select_kernel(exp_minus_max_sum_kernels(), "softmax exp");
  return k;
}
const GeluKernel& gelu_kernel() {
  static const GeluKernel& k = select_kernel(gelu_kernels(), "GELU");
  return k;
}

void layer_norm_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, const float* gamma,
                    const float* beta, float eps, float* y, std::size_t ldy, const LayerNormKernel& kernel) {
  kernel.fn(m, n, x, ldx, gamma, beta, eps, y, ldy);
}

void softmax_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, float* y, std::size_t ldy,
                 const ExpMinusMaxSumKernel& kernel) {
  for (std::size_t i = 0; i < m; ++i) {
    float* out = y + i * ldy;
    std::copy(x + i * ldx, x + i * ldx + n, out);
    const float inv = 1.0f / kernel.fn(n, out);
    for (std::size_t j = 0; j < n; ++j) out[j] *= inv;
  }
}

void gelu_f32(const float* x, std::size_t count, float* y, const GeluKernel& kernel) { kernel.fn(count, x, y); }

void relu_f32(const float* x, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void add_f32(const float* a, const float* b, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

void add_relu_f32(const float* a, const float* b, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = std::max(a[i] + b[i], 0.0f);
}

void im2col_f32(const float* x, const Conv2dShape& s, float* cols) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), patch = s.patch();
  const std::size_t cs = s.channel_step(), rs = s.row_step(), xs = s.column_step();
  for (std::size_t oy = 0; oy < oh; ++oy) {
    for (std::size_t ox = 0; ox < ow; ++ox) {
      float* col = cols + (oy * ow + ox) * patch;
      if (s.channels_innermost) {
        for (std::size_t ky = 0; ky < s.kernel_h; ++ky) {
          for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
            const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
            for (std::size_t c = 0; c < s.channels; ++c) *col++ = iy < s.height && ix < s.width ? x[c * cs + iy * rs + ix * xs] : 0.0f;
          }
        }
        continue;
      }
      for (std::size_t c = 0; c < s.channels; ++c) {
        for (std::size_t ky = 0; ky < s.kernel_h; ++ky) {
          for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
            // Unsigned wrap-around turns a negative coordinate into a huge one: one bounds check each.
            const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
            *col++ = iy < s.height && ix < s.width ? x[c * cs + iy * rs + ix * xs] : 0.0f;
          }
        }
      }
    }
  }
}

namespace {

// One image's bytes, in s's layout, into its padded copy bordered by the zero point: [H + 2 pad][W + 2 pad][C]
// for a channels-innermost patch, else [C][H + 2 pad][W + 2 pad].
void pad_image(const std::uint8_t* bytes, const Conv2dShape& s, std::uint8_t zero_point, std::uint8_t* dst) {
  const std::size_t ph = s.height + 2 * s.pad, pw = s.width + 2 * s.pad, channels = s.channels;
  std::memset(dst, zero_point, s.padded_image_bytes());
  if (s.channels_innermost) {
    for (std::size_t iy = 0; iy < s.height; ++iy) {
      std::uint8_t* row = dst + ((iy + s.pad) * pw + s.pad) * channels;
      if (s.channels_last) {
        std::memcpy(row, bytes + iy * s.width * channels, s.width * channels);
        continue;
      }
      for (std::size_t ix = 0; ix < s.width; ++ix)
        for (std::size_t c = 0; c < channels; ++c) row[ix * channels + c] = bytes[(c * s.height + iy) * s.width + ix];
    }
    return;
  }
  for (std::size_t c = 0; c < s.channels; ++c) {
    for (std::size_t iy = 0; iy < s.height; ++iy) {
      std::uint8_t* row = dst + (c * ph + iy + s.pad) * pw + s.pad;
      if (!s.channels_last) {
        std::memcpy(row, bytes + (c * s.height + iy) * s.width, s.width);
        continue;
      }
      const std::uint8_t* in = bytes + iy * s.width * s.channels + c;
      for (std::size_t ix = 0; ix < s.width; ++ix) row[ix] = in[ix * s.channels];
    }
  }
}

// Every output pixel's patch, from the padded images, into the GEMM's activation panels.
void gather_patches(const std::uint8_t* padded, std::size_t batch, const Conv2dShape& s, std::size_t mr,
                    std::uint8_t* out, ThreadPool* pool) {
  const std::size_t ph = s.height + 2 * s.pad, pw = s.width + 2 * s.pad, padded_image = s.padded_image_bytes();
  const std::size_t ow = s.out_w(), pixels = s.out_h() * ow, m = batch * pixels, k = s.patch();
  const std::size_t groups = round_up_4(k) / 4, stride = panel_stride(k, mr);
  if (s.channels_innermost) {
    // Each kernel position's channels are contiguous in the padded image: C / 4 whole groups of 4 bytes, which
    // go to consecutive groups of one token's slots. Four tokens at a time, their 4-byte slots are adjacent: a
    // 4x4 transpose of 32-bit words (SSE2) turns 16 bytes of each token's channels into 16 bytes of 4 slots.
    const std::size_t channels = s.channels, channel_groups = channels / 4, kh = s.kernel_h, kw = s.kernel_w;
    const std::size_t step = mr * 4, conv_stride = s.stride;
    parallel_for(pool, panel_count(m, mr), [&, channels, channel_groups, kh, kw, step, conv_stride, pw, ow, pixels](std::size_t begin, std::size_t end) {
      for (std::size_t panel = begin; panel < end; ++panel) {
        std::uint8_t* dst = out + panel * stride;
        const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
        if (rows < mr) std::memset(dst, 0, stride);
        const auto corner = [&](std::size_t t) {
          const std::size_t b = (t0 + t) / pixels, pixel = (t0 + t) % pixels, oy = pixel / ow, ox = pixel % ow;
          return padded + b * padded_image + (oy * conv_stride * pw + ox * conv_stride) * channels;
        };
        std::size_t t = 0;
        for (; t + 4 <= rows; t += 4) {
          const std::uint8_t* c0 = corner(t);
          const std::uint8_t* c1 = corner(t + 1);
          const std::uint8_t* c2 = corner(t + 2);
          const std::uint8_t* c3 = corner(t + 3);
          std::uint8_t* d = dst + t * 4;
          for (std::size_t ky = 0; ky < kh; ++ky) {
            for (std::size_t kx = 0; kx < kw; ++kx) {
              const std::size_t at = (ky * pw + kx) * channels;
              std::size_t g = 0;
              for (; g + 4 <= channel_groups; g += 4, d += 4 * step) {
                const auto load = [&](const std::uint8_t* c) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + at + 4 * g)); };
                const __m128i a = load(c0), b = load(c1), c = load(c2), e = load(c3);
                const __m128i ab_lo = _mm_unpacklo_epi32(a, b), ab_hi = _mm_unpackhi_epi32(a, b);
                const __m128i ce_lo = _mm_unpacklo_epi32(c, e), ce_hi = _mm_unpackhi_epi32(c, e);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi64(ab_lo, ce_lo));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d + step), _mm_unpackhi_epi64(ab_lo, ce_lo));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * step), _mm_unpacklo_epi64(ab_hi, ce_hi));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 3 * step), _mm_unpackhi_epi64(ab_hi, ce_hi));
              }
              for (; g < channel_groups; ++g, d += step) {
                std::memcpy(d, c0 + at + 4 * g, 4);
                std::memcpy(d + 4, c1 + at + 4 * g, 4);
                std::memcpy(d + 8, c2 + at + 4 * g, 4);
                std::memcpy(d + 12, c3 + at + 4 * g, 4);
              }
            }
          }
        }
        for (; t < rows; ++t) {
          const std::uint8_t* c0 = corner(t);
          std::uint8_t* d = dst + t * 4;
          for (std::size_t ky = 0; ky < kh; ++ky)
            for (std::size_t kx = 0; kx < kw; ++kx)
              for (std::size_t g = 0; g < channel_groups; ++g, d += step) std::memcpy(d, c0 + (ky * pw + kx) * channels + 4 * g, 4);
        }
      }
    });
    return;
  }
  // Where patch input i = (c, ky, kx) sits relative to a pixel's window corner in the padded image.
  std::vector<std::size_t> offset(k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t c = i / (s.kernel_h * s.kernel_w), ky = i / s.kernel_w % s.kernel_h, kx = i % s.kernel_w;
    offset[i] = (c * ph + ky) * pw + kx;
  }
  parallel_for(pool, panel_count(m, mr), [&](std::size_t begin, std::size_t end) {
    const std::vector<std::uint8_t> zeros(ow * s.stride, 0);  // what the inputs past k read
    for (std::size_t panel = begin; panel < end; ++panel) {
      std::uint8_t* dst = out + panel * stride;
      const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
      if (rows < mr) std::memset(dst, 0, stride);  // tokens past m, as qu8_pack_panels_f32 leaves them
      // A run of tokens along one output row reads each patch input at consecutive window corners, `stride`
      // bytes apart: each group of 4 inputs is 4 such strided rows, interleaved into the run's 4-byte slots.
      for (std::size_t t = 0; t < rows;) {
        const std::size_t b = (t0 + t) / pixels, pixel = (t0 + t) % pixels, oy = pixel / ow, ox = pixel % ow;
        const std::size_t run = std::min(rows - t, ow - ox);
        const std::uint8_t* corner = padded + b * padded_image + oy * s.stride * pw + ox * s.stride;
        for (std::size_t g = 0; g < groups; ++g) {
          const std::size_t i = 4 * g;
          const std::uint8_t* s0 = i < k ? corner + offset[i] : zeros.data();
          const std::uint8_t* s1 = i + 1 < k ? corner + offset[i + 1] : zeros.data();
          const std::uint8_t* s2 = i + 2 < k ? corner + offset[i + 2] : zeros.data();
          const std::uint8_t* s3 = i + 3 < k ? corner + offset[i + 3] : zeros.data();
          std::uint8_t* d = dst + g * mr * 4 + t * 4;
          std::size_t u = 0;
          if (s.stride == 1) {
            // 8 tokens at a time, 8 bytes of each input interleaved by SSE2 (x86-64's baseline): the runs are
            // one output row, often shorter than 16 (14 on a 14x14 map), so a 16-wide loop would rarely run.
            for (; u + 8 <= run; u += 8) {
              const __m128i ab = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s0 + u)),
                                                   _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s1 + u)));
              const __m128i cd = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s2 + u)),
                                                   _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s3 + u)));
              _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * u), _mm_unpacklo_epi16(ab, cd));
              _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * u + 16), _mm_unpackhi_epi16(ab, cd));
            }
          } else if (s.stride == 2) {
            // The even bytes of 16 (ResNet's stem and its stride-2 convs): the 16th byte read is before the next
            // token's, which exists while u + 8 < run.
            const __m128i even = _mm_set1_epi16(0x00FF);
            const auto load_even = [&](const std::uint8_t* p) {
              const __m128i v = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), even);
              return _mm_packus_epi16(v, v);  // 8 bytes, twice
            };
            for (; u + 8 < run; u += 8) {
              const __m128i ab = _mm_unpacklo_epi8(load_even(s0 + 2 * u), load_even(s1 + 2 * u));
              const __m128i cd = _mm_unpacklo_epi8(load_even(s2 + 2 * u), load_even(s3 + 2 * u));
              _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * u), _mm_unpacklo_epi16(ab, cd));
              _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * u + 16), _mm_unpackhi_epi16(ab, cd));
            }
          }
          for (; u < run; ++u) {
            d[4 * u] = s0[u * s.stride];
            d[4 * u + 1] = s1[u * s.stride];
            d[4 * u + 2] = s2[u * s.stride];
            d[4 * u + 3] = s3[u * s.stride];
          }
        }
        t += run;
      }
    }
  });
}

}  // namespace

void qu8_conv_panels_f32(const float* x, std::size_t batch, const Conv2dShape& s, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* padded, std::uint8_t* out, ThreadPool* pool) {
  const std::size_t image = s.channels * s.height * s.width;
  const QuantizePackRowFn quantize = quantize_pack_kernel().fn;
  parallel_for(pool, batch, [&](std::size_t begin, std::size_t end) {
    // One image quantized in its own layout by the vectorized pack kernel: one-row panels are plain bytes.
    std::vector<std::uint8_t> bytes(round_up_4(image));
    for (std::size_t b = begin; b < end; ++b) {
      quantize(x + b * image, image, q, 1, bytes.data());
      pad_image(bytes.data(), s, static_cast<std::uint8_t>(q.zero_point), padded + b * s.padded_image_bytes());
    }
  });
  gather_patches(padded, batch, s, mr, out, pool);
}

void qu8_conv_panels_u8(const std::uint8_t* x, std::size_t batch, const Conv2dShape& s, std::uint8_t zero_point,
                        std::size_t mr, std::uint8_t* padded, std::uint8_t* out, ThreadPool* pool) {
  const std::size_t image = s.channels * s.height * s.width;
  parallel_for(pool, batch, [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) pad_image(x + b * image, s, zero_point, padded + b * s.padded_image_bytes());
  });
  gather_patches(padded, batch, s, mr, out, pool);
}

// Padding positions are skipped, never taken as zeros.
void max_pool2d_f32(const float* x, const Pool2dShape& s, float* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w();
  for (std::size_t c = 0; c < s.channels; ++c) {
    for (std::size_t oy = 0; oy < oh; ++oy) {
      for (std::size_t ox = 0; ox < ow; ++ox) {
        float acc = -std::numeric_limits<float>::infinity();
        for (std::size_t ky = 0; ky < s.kernel; ++ky) {
          for (std::size_t kx = 0; kx < s.kernel; ++kx) {
            const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
            if (iy < s.height && ix < s.width) acc = std::max(acc, x[(c * s.height + iy) * s.width + ix]);
          }
        }
        y[(c * oh + oy) * ow + ox] = acc;
      }
    }
  }
}

namespace {

// acc = max(acc, in), element by element; restrict lets the compiler vectorize bytes too (a uint8_t pointer
// may otherwise alias anything).
template <typename T>
void max_into(T* __restrict acc, const T* __restrict in, std::size_t n) {
  for (std::size_t c = 0; c < n; ++c) acc[c] = acc[c] < in[c] ? in[c] : acc[c];
}

template <typename T>
void max_pool2d_nhwc(const T* x, const Pool2dShape& s, T* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), channels = s.channels;
  for (std::size_t oy = 0; oy < oh; ++oy) {
    for (std::size_t ox = 0; ox < ow; ++ox) {
      T* acc = y + (oy * ow + ox) * channels;
      std::fill_n(acc, channels, std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : T{0});
      for (std::size_t ky = 0; ky < s.kernel; ++ky) {
        for (std::size_t kx = 0; kx < s.kernel; ++kx) {
          const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
          if (iy >= s.height || ix >= s.width) continue;
          max_into(acc, x + (iy * s.width + ix) * channels, channels);
        }
      }
    }
  }
}

}  // namespace

void max_pool2d_nhwc_f32(const float* x, const Pool2dShape& s, float* y) { max_pool2d_nhwc(x, s, y); }
void max_pool2d_nhwc_u8(const std::uint8_t* x, const Pool2dShape& s, std::uint8_t* y) { max_pool2d_nhwc(x, s, y); }

void global_avg_pool_f32(const float* x, std::size_t pixels, std::size_t channels, float* y) {
  for (std::size_t c = 0; c < channels; ++c) {
    float sum = 0;
    for (std::size_t p = 0; p < pixels; ++p) sum += x[c * pixels + p];
    y[c] = sum / static_cast<float>(pixels);
  }
}

void global_avg_pool_nhwc_f32(const float* __restrict x, std::size_t pixels, std::size_t channels, float* __restrict y) {
  std::fill_n(y, channels, 0.0f);
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t c = 0; c < channels; ++c) y[c] += x[p * channels + c];
  for (std::size_t c = 0; c < channels; ++c) y[c] /= static_cast<float>(pixels);
}

}  // namespace sparrow::kernels
