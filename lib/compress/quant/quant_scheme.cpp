#include "compress/quant/quant_scheme.h"

#include <cmath>

namespace sparrow::compress {

using quant::kActivationMax;
using quant::kWeightMax;

torch::Tensor weight_scales(const torch::Tensor& weight) {
  auto max_abs = weight.detach().reshape({weight.size(0), -1}).abs().amax(1);
  auto scales = max_abs / kWeightMax;
  return torch::where(max_abs == 0, torch::ones_like(scales), scales);
}

torch::Tensor quantize_weight(const torch::Tensor& weight, const torch::Tensor& scales) {
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = weight.size(0);
  // torch::round rounds half to even, as nearbyint does in the engine.
  return torch::round(weight.detach() / scales.view(shape)).clamp(-kWeightMax, kWeightMax).to(torch::kInt8);
}

torch::Tensor quantize_activation(const torch::Tensor& x, const quant::ActivationParams& q) {
  return (torch::round(x.detach() / q.scale) + q.zero_point).clamp(0, kActivationMax).to(torch::kUInt8);
}

torch::Tensor fake_quantize_weight(const torch::Tensor& weight) {
  const auto scales = weight_scales(weight);
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = weight.size(0);
  const auto dequantized = quantize_weight(weight, scales).to(weight.dtype()) * scales.view(shape);
  return weight + (dequantized - weight).detach();
}

torch::Tensor fake_quantize_activation(const torch::Tensor& x, const quant::ActivationParams& q) {
  const auto dequantized = (quantize_activation(x, q).to(x.dtype()) - static_cast<float>(q.zero_point)) * q.scale;
  return x + (dequantized - x).detach();
}

torch::Tensor quantized_linear_exact(const torch::Tensor& x, const quant::ActivationParams& q, const torch::Tensor& weight,
                                     const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  const auto s_w = weight_scales(weight);
  const auto q_w = quantize_weight(weight, s_w).to(torch::kFloat64);
  const auto q_x = quantize_activation(x, q).to(torch::kFloat64);
  // Sums of products of 8-bit integers are exact in double (far below 2^53).
  const auto acc = torch::matmul(q_x, q_w.t()) - static_cast<double>(q.zero_point) * q_w.sum(1);
  auto y = acc.to(torch::kFloat32) * (q.scale * s_w);
  if (bias.defined()) y = y + bias;
  return y;
}

torch::Tensor fake_quantized_attention(const models::AttentionInputs& in, const AttentionQParams& p) {
  models::AttentionInputs quantized = in;
  quantized.q = fake_quantize_activation(in.q, p.q);
  quantized.k = fake_quantize_activation(in.k, p.k);
  quantized.v = fake_quantize_activation(in.v, p.v);
  return models::attention_f32(quantized, [](const torch::Tensor& probs) {
    return fake_quantize_activation(probs, quant::attention_probs_params());
  });
}

torch::Tensor quantized_attention_exact(const models::AttentionInputs& in, const AttentionQParams& p) {
  torch::NoGradGuard no_grad;
  const float c = 1.0f / std::sqrt(static_cast<float>(in.head_size));
  const auto zero = static_cast<double>(quant::kSymmetricZeroPoint);
  const auto q = quantize_activation(in.q, p.q).to(torch::kFloat64);
  const auto k = quantize_activation(in.k, p.k).to(torch::kFloat64) - zero;
  const auto v = quantize_activation(in.v, p.v).to(torch::kFloat64) - zero;
  // Integer sums, exact in double; one conversion to float, then the scales multiplied first (as the engine).
  const auto acc = torch::matmul(q, k.transpose(-1, -2)) - static_cast<double>(p.q.zero_point) * k.sum(-1).unsqueeze(-2);
  auto scores = acc.to(torch::kFloat32) * (p.q.scale * (p.k.scale * c));
  if (in.mask_bias.defined()) scores = scores + in.mask_bias;
  const auto probs_q = quant::attention_probs_params();
  const auto probs = quantize_activation(torch::softmax(scores, -1), probs_q).to(torch::kFloat64);
  return torch::matmul(probs, v).to(torch::kFloat32) * (probs_q.scale * p.v.scale);
}

}  // namespace sparrow::compress
