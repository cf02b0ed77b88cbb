#pragma once
// The one quantization scheme the trainer and the engine share (DESIGN.md):
// weights INT8 symmetric per output channel in [-127, 127]; activations UINT8
// asymmetric per tensor; rounding half to even everywhere.
#include <torch/torch.h>

namespace sparrow::compress {

struct ActivationQParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// s_w[n] = max|W[n,:]| / 127, or 1 for an all-zero row. Returns [out] float.
torch::Tensor weight_scales(const torch::Tensor& weight);
// q_w = clamp(round(W / s_w[n]), -127, 127) as int8, rows over dim 0.
torch::Tensor quantize_weight(const torch::Tensor& weight, const torch::Tensor& scales);

// From an observed range [lo, hi]: the range is widened to hold 0;
// s_x = (hi' - lo') / 255 (1 if zero); zp = clamp(round(-lo' / s_x), 0, 255).
ActivationQParams activation_qparams(float lo, float hi);
// q_x = clamp(round(x / s_x) + zp, 0, 255), as uint8.
torch::Tensor quantize_activation(const torch::Tensor& x, const ActivationQParams& q);

// Quantize-dequantize with straight-through gradients (the rounding is
// invisible to backward), for training.
torch::Tensor fake_quantize_weight(const torch::Tensor& weight);
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const ActivationQParams& q);

// y = s_x * s_w[n] * (sum_k q_x q_w - zp * sum_k q_w) + b with the integer sums
// exact, as the engine computes it. x: [..., K] float, weight: [N, K].
torch::Tensor quantized_linear_exact(const torch::Tensor& x, const ActivationQParams& q, const torch::Tensor& weight,
                                     const torch::Tensor& bias);

}  // namespace sparrow::compress
