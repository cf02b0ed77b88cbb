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
  // Work items: (head, block of query rows). Both products run on the FP32 GEMM: K_h packed as weights gives
  // Q_h K_h^T, V_h^T packed as weights gives P V_h. Repacking K_h and V_h per item costs 1/rows_per_item of
  // the item's arithmetic.
  constexpr std::size_t kRowsPerItem = 64;
  const std::size_t row_blocks = (seq + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(pool, heads * row_blocks, [&](std::size_t begin, std::size_t end) {
    std::vector<float> kh(seq * head_dim), vt(head_dim * seq), scores(kRowsPerItem * seq);
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t h = item / row_blocks, r0 = (item % row_blocks) * kRowsPerItem;
      const std::size_t rows = std::min(kRowsPerItem, seq - r0), off = h * head_dim;
      for (std::size_t j = 0; j < seq; ++j) {
        for (std::size_t d = 0; d < head_dim; ++d) {
          kh[j * head_dim + d] = k[j * ld + off + d];
          vt[d * seq + j] = v[j * ld + off + d];
        }
      }
      f32_gemm(q + r0 * ld + off, rows, ld, pack_f32(kh.data(), seq, head_dim, head_dim), nullptr, Activation::none,
               scores.data(), seq);
      for (std::size_t i = 0; i < rows; ++i) {
        float* row = scores.data() + i * seq;
        float mx = -std::numeric_limits<float>::infinity();
        for (std::size_t j = 0; j < seq; ++j) {
          row[j] = key_valid != nullptr && key_valid[j] == 0 ? -std::numeric_limits<float>::infinity() : row[j] * scale;
          mx = std::max(mx, row[j]);
        }
        if (mx == -std::numeric_limits<float>::infinity()) {  // every key masked: the output row is zero
          std::fill(row, row + seq, 0.0f);
          continue;
        }
        double sum = 0.0;
        for (std::size_t j = 0; j < seq; ++j) {
          row[j] = std::exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (std::size_t j = 0; j < seq; ++j) row[j] *= inv;
      }
      f32_gemm(scores.data(), rows, seq, pack_f32(vt.data(), head_dim, seq, seq), nullptr, Activation::none,
               out + r0 * ldo + off, ldo);
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
