#include "engine/kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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
  const std::size_t oh = s.out_h(), ow = s.out_w(), patch = s.patch();
  for (std::size_t oy = 0; oy < oh; ++oy) {
    for (std::size_t ox = 0; ox < ow; ++ox) {
      float* col = cols + (oy * ow + ox) * patch;
      for (std::size_t c = 0; c < s.channels; ++c) {
        for (std::size_t ky = 0; ky < s.kernel_h; ++ky) {
          for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
            // Unsigned wrap-around turns a negative coordinate into a huge one: one bounds check each.
            const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
            *col++ = iy < s.height && ix < s.width ? x[(c * s.height + iy) * s.width + ix] : 0.0f;
          }
        }
      }
    }
  }
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

}  // namespace sparrow::kernels
