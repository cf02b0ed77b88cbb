#include "engine/kernels/ops.h"

#include <algorithm>
#include <cassert>
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

namespace {

// [pixels][channels] -> [channels][pixels].
void transpose_to_nchw(const float* src, std::size_t pixels, std::size_t channels, float* y) {
  for (std::size_t p = 0; p < pixels; ++p) {
    for (std::size_t c = 0; c < channels; ++c) y[c * pixels + p] = src[p * channels + c];
  }
}

}  // namespace

void conv2d_f32(const float* x, const Conv2dShape& s, const PackedF32& w, const float* bias, Activation act, float* y,
                ThreadPool* pool) {
  assert(w.k == s.patch());
  const std::size_t pixels = s.out_h() * s.out_w();
  std::vector<float> cols(pixels * s.patch()), out(pixels * w.n);
  im2col_f32(x, s, cols.data());
  f32_gemm(cols.data(), pixels, s.patch(), w, bias, act, out.data(), w.n, pool);
  transpose_to_nchw(out.data(), pixels, w.n, y);
}

void conv2d_qu8_f32_qc8w_spmm_b4(const float* x, const Conv2dShape& s, const PackedB4& w, const QEpilogueParams& p,
                                 float* y, ThreadPool* pool) {
  assert(w.k == s.patch());
  const std::size_t pixels = s.out_h() * s.out_w(), mr = spmm_b4_kernel().mr;
  std::vector<float> cols(pixels * s.patch()), out(pixels * w.n);
  std::vector<std::uint8_t> panels(panels_bytes(pixels, s.patch(), mr));
  im2col_f32(x, s, cols.data());
  qu8_pack_panels_f32(cols.data(), pixels, s.patch(), s.patch(), {p.x_scale, p.x_zero_point}, mr, panels.data());
  qu8_f32_qc8w_spmm_b4(panels.data(), pixels, w, p, out.data(), w.n, pool);
  transpose_to_nchw(out.data(), pixels, w.n, y);
}

namespace {

template <class Reduce>
void pool2d(const float* x, const Pool2dShape& s, float* y, float init, Reduce reduce, bool average) {
  const std::size_t oh = s.out_h(), ow = s.out_w();
  const float inv_window = 1.0f / static_cast<float>(s.kernel * s.kernel);
  for (std::size_t c = 0; c < s.channels; ++c) {
    for (std::size_t oy = 0; oy < oh; ++oy) {
      for (std::size_t ox = 0; ox < ow; ++ox) {
        float acc = init;
        for (std::size_t ky = 0; ky < s.kernel; ++ky) {
          for (std::size_t kx = 0; kx < s.kernel; ++kx) {
            const std::size_t iy = oy * s.stride + ky - s.pad, ix = ox * s.stride + kx - s.pad;
            if (iy < s.height && ix < s.width) acc = reduce(acc, x[(c * s.height + iy) * s.width + ix]);
          }
        }
        y[(c * oh + oy) * ow + ox] = average ? acc * inv_window : acc;
      }
    }
  }
}

}  // namespace

void max_pool2d_f32(const float* x, const Pool2dShape& s, float* y) {
  pool2d(x, s, y, -std::numeric_limits<float>::infinity(), [](float a, float b) { return std::max(a, b); }, false);
}

void avg_pool2d_f32(const float* x, const Pool2dShape& s, float* y) {
  pool2d(x, s, y, 0.0f, [](float a, float b) { return a + b; }, true);
}

}  // namespace sparrow::kernels
