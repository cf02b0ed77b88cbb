// The decoder's FP32 operators: RMSNorm, rotary embeddings, the SwiGLU product and causal attention over a
// KV cache. Portable loops; at batch 1 the time goes to the linear layers, whose kernels are dispatched.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels/ops.h"

namespace sparrow::kernels {

void rms_norm_f32(const float* x, std::size_t m, std::size_t n, const float* gamma, float eps, float* y) {
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = x + i * n;
    float sum = 0.0f;
    for (std::size_t j = 0; j < n; ++j) sum += row[j] * row[j];
    const float inv = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
    for (std::size_t j = 0; j < n; ++j) y[i * n + j] = gamma[j] * (row[j] * inv);
  }
}

void rotary_f32(const float* x, std::size_t rows, std::size_t heads, std::size_t head_size, float theta,
                std::size_t first_pos, float* y) {
  const std::size_t half = head_size / 2, width = heads * head_size;
  // The trainer's frequencies: 1 / theta^(2i / head_size), in float32.
  std::vector<float> inv_freq(half);
  for (std::size_t i = 0; i < half; ++i)
    inv_freq[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_size));
  std::vector<float> cos(half), sin(half);
  for (std::size_t r = 0; r < rows; ++r) {
    const float pos = static_cast<float>(first_pos + r);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[i];
      cos[i] = std::cos(angle);
      sin[i] = std::sin(angle);
    }
    for (std::size_t h = 0; h < heads; ++h) {
      const float* in = x + r * width + h * head_size;
      float* out = y + r * width + h * head_size;
      for (std::size_t i = 0; i < half; ++i) {
        const float a = in[i], b = in[i + half];
        out[i] = a * cos[i] - b * sin[i];
        out[i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}

void swiglu_f32(const float* a, const float* b, std::size_t count, float* y) {
  for (std::size_t i = 0; i < count; ++i) y[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

void causal_attention_f32(const float* q, std::size_t ldq, std::size_t rows, std::size_t first_pos, const float* k,
                          std::size_t ldk, const float* v, std::size_t ldv, std::size_t head_dim, float scale, float* out,
                          std::size_t ldo, const ExpMinusMaxSumKernel& softmax) {
  thread_local std::vector<float> scores;
  scores.resize(first_pos + rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* qr = q + r * ldq;
    const std::size_t n = first_pos + r + 1;
    for (std::size_t j = 0; j < n; ++j) {
      const float* kj = k + j * ldk;
      float dot = 0.0f;
      for (std::size_t c = 0; c < head_dim; ++c) dot += qr[c] * kj[c];
      scores[j] = dot * scale;
    }
    const float inv_sum = 1.0f / softmax.fn(n, scores.data());
    float* o = out + r * ldo;
    std::fill(o, o + head_dim, 0.0f);
    for (std::size_t j = 0; j < n; ++j) {
      const float p = scores[j];
      const float* vj = v + j * ldv;
      for (std::size_t c = 0; c < head_dim; ++c) o[c] += p * vj[c];
    }
    for (std::size_t c = 0; c < head_dim; ++c) o[c] *= inv_sum;
  }
}

}  // namespace sparrow::kernels
