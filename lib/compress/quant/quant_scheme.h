#pragma once
// The quantization scheme (lib/quant/scheme.h) over LibTorch tensors, for training: the same formulas,
// constants and rounding as quant's scalar functions, vectorized (torch::round rounds half to even, as
// std::nearbyint does; divisions are FP32 divisions). Weights INT8 symmetric per output channel in
// [-127, 127]; activations UINT8 asymmetric per tensor, their parameters from quant::activation_params.
#include <torch/torch.h>

#include "models/linear_hook.h"
#include "quant/scheme.h"

namespace sparrow::compress {

// quant::weight_scale of each row: s_w[n] = max|W[n,:]| / 127, or 1 for an all-zero row. Returns [out] float.
torch::Tensor weight_scales(const torch::Tensor& weight);
// quant::quantize_weight of each weight: clamp(round(W / s_w[n]), -127, 127) as int8, rows over dim 0.
torch::Tensor quantize_weight(const torch::Tensor& weight, const torch::Tensor& scales);

// quant::quantize_activation of each value: clamp(round(x / s_x) + zp, 0, 255), as uint8.
torch::Tensor quantize_activation(const torch::Tensor& x, const quant::ActivationParams& q);

// Quantize-dequantize with straight-through gradients (the rounding is
// invisible to backward), for training.
torch::Tensor fake_quantize_weight(const torch::Tensor& weight);
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::ActivationParams& q);

// y = s_x * s_w[n] * (sum_k q_x q_w - zp * sum_k q_w) + b with the integer sums exact, grouped as
// quant::dequantize_accumulator groups it: the engine's arithmetic. x: [..., K] float, weight: [N, K].
torch::Tensor quantized_linear_exact(const torch::Tensor& x, const quant::ActivationParams& q,
                                     const torch::Tensor& weight, const torch::Tensor& bias);

// INT8 attention (quant/scheme.h, docs/format.md "INT8 attention"): Q's activation parameters, K's and V's
// symmetric ones (zero point 128).
struct AttentionQParams {
  quant::ActivationParams q, k, v;
};
// Training: Q, K, V and the softmax output P fake-quantized with straight-through gradients; the dropout
// applies to the quantized P.
torch::Tensor fake_quantized_attention(const models::AttentionInputs& in, const AttentionQParams& p);
// Evaluation: the engine's arithmetic, exact integer sums and the scales grouped as the engine groups them.
torch::Tensor quantized_attention_exact(const models::AttentionInputs& in, const AttentionQParams& p);

}  // namespace sparrow::compress
