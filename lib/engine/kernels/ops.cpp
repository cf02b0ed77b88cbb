#include "engine/kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

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

void im2col_f32(const float* x, const Conv2dShape& s, float* cols) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cs = s.channel_step(), rs = s.row_step(), xs = s.column_step();
  for (std::size_t oy = 0; oy < oh; ++oy) {
    for (std::size_t ox = 0; ox < ow; ++ox) {
      float* col = cols + (oy * ow + ox) * s.patch();
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

void qu8_conv_panels_f32(const float* x, std::size_t batch, const Conv2dShape& s, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* padded, std::uint8_t* out, ThreadPool* pool) {
  const std::size_t ph = s.height + 2 * s.pad, pw = s.width + 2 * s.pad, image = s.channels * s.height * s.width;
  const std::size_t padded_image = s.padded_image_bytes();
  parallel_for(pool, batch, [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) {
      std::uint8_t* dst = padded + b * padded_image;
      std::memset(dst, q.zero_point, padded_image);
      const float* src = x + b * image;
      for (std::size_t c = 0; c < s.channels; ++c) {
        for (std::size_t iy = 0; iy < s.height; ++iy) {
          std::uint8_t* row = dst + (c * ph + iy + s.pad) * pw + s.pad;
          if (!s.channels_last) {
            qu8_quantize_f32(src + (c * s.height + iy) * s.width, s.width, q, row);
            continue;
          }
          const float* in = src + iy * s.row_step() + c;
          for (std::size_t ix = 0; ix < s.width; ++ix) row[ix] = quant::quantize_activation(in[ix * s.channels], q);
        }
      }
    }
  });
  const std::size_t ow = s.out_w(), pixels = s.out_h() * ow, m = batch * pixels, k = s.patch();
  const std::size_t groups = round_up_4(k) / 4, stride = panel_stride(k, mr);
  parallel_for(pool, panel_count(m, mr), [&](std::size_t begin, std::size_t end) {
    // One patch in im2col's order; its tail past k stays zero, as the panels' input padding must be.
    std::vector<std::uint8_t> patch(groups * 4, 0);
    for (std::size_t panel = begin; panel < end; ++panel) {
      std::uint8_t* dst = out + panel * stride;
      const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
      if (rows < mr) std::memset(dst, 0, stride);  // tokens past m, as qu8_pack_panels_f32 leaves them
      for (std::size_t t = 0; t < rows; ++t) {
        const std::size_t b = (t0 + t) / pixels, pixel = (t0 + t) % pixels, oy = pixel / ow, ox = pixel % ow;
        const std::uint8_t* corner = padded + b * padded_image + oy * s.stride * pw + ox * s.stride;
        std::uint8_t* p = patch.data();
        for (std::size_t c = 0; c < s.channels; ++c)
          for (std::size_t ky = 0; ky < s.kernel_h; ++ky, p += s.kernel_w)
            std::copy_n(corner + (c * ph + ky) * pw, s.kernel_w, p);
        for (std::size_t g = 0; g < groups; ++g) std::memcpy(dst + g * mr * 4 + t * 4, patch.data() + g * 4, 4);
      }
    }
  });
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

void max_pool2d_nhwc_f32(const float* x, const Pool2dShape& s, float* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), channels = s.channels;
  for (std::size_t oy = 0; oy < oh; ++oy) {
    for (std::size_t ox = 0; ox < ow; ++ox) {
      float* acc = y + (oy * ow + ox) * channels;
      std::fill_n(acc, channels, -std::numeric_limits<float>::infinity());
      for (std::size_t ky = 0; ky < s.kernel; ++ky) {
        for (std::size_t kx = 0; kx < s.kernel; ++kx) {
          const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
          if (iy >= s.height || ix >= s.width) continue;
          const float* in = x + (iy * s.width + ix) * channels;
          for (std::size_t c = 0; c < channels; ++c) acc[c] = acc[c] < in[c] ? in[c] : acc[c];
        }
      }
    }
  }
}

}  // namespace sparrow::kernels
