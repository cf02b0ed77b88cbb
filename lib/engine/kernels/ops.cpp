#include "engine/kernels/ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

namespace sparrow::kernels {

void layer_norm_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, const float* gamma,
                    const float* beta, float eps, float* y, std::size_t ldy) {
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    // Two passes in double: a single-pass E[x^2]-E[x]^2 loses digits when the mean is large.
    double mean = 0.0;
    for (std::size_t j = 0; j < n; ++j) mean += row[j];
    mean /= static_cast<double>(n);
    double var = 0.0;
    for (std::size_t j = 0; j < n; ++j) var += (row[j] - mean) * (row[j] - mean);
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (std::size_t j = 0; j < n; ++j) {
      y[i * ldy + j] = static_cast<float>((row[j] - mean) * inv * gamma[j] + beta[j]);
    }
  }
}

void softmax_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, float* y, std::size_t ldy) {
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    float* out = y + i * ldy;
    const float mx = *std::max_element(row, row + n);
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      out[j] = std::exp(row[j] - mx);
      sum += out[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (std::size_t j = 0; j < n; ++j) out[j] *= inv;
  }
}

void gelu_f32(const float* x, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = gelu_f32(x[i]);
}

void relu_f32(const float* x, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void add_f32(const float* a, const float* b, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

void attention_f32(const float* q, const float* k, const float* v, std::size_t ld, std::size_t seq, std::size_t heads,
                   std::size_t head_dim, const std::uint8_t* key_valid, float scale, float* out, std::size_t ldo,
                   ThreadPool* pool) {
  assert(seq <= kMaxAttentionSeq);
  // One work item per (head, query row).
  parallel_for(pool, heads * seq, [&](std::size_t begin, std::size_t end) {
    float scores[kMaxAttentionSeq];
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t h = item / seq, i = item % seq, off = h * head_dim;
      float mx = -std::numeric_limits<float>::infinity();
      for (std::size_t j = 0; j < seq; ++j) {
        if (key_valid != nullptr && key_valid[j] == 0) {
          scores[j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        float dot = 0.0f;
        for (std::size_t d = 0; d < head_dim; ++d) dot += q[i * ld + off + d] * k[j * ld + off + d];
        scores[j] = dot * scale;
        mx = std::max(mx, scores[j]);
      }
      float* o = out + i * ldo + off;
      std::fill(o, o + head_dim, 0.0f);
      if (mx == -std::numeric_limits<float>::infinity()) continue;  // every key masked: output zeros
      double sum = 0.0;
      for (std::size_t j = 0; j < seq; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (std::size_t j = 0; j < seq; ++j) {
        const float p = scores[j] * inv;
        if (p == 0.0f) continue;
        for (std::size_t d = 0; d < head_dim; ++d) o[d] += p * v[j * ld + off + d];
      }
    }
  });
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
