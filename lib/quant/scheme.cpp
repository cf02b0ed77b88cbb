#include "quant/scheme.h"

#include <algorithm>
#include <cmath>

namespace sparrow::quant {

float weight_scale(float max_abs) { return max_abs == 0.0f ? 1.0f : max_abs / kWeightMax; }

std::int8_t quantize_weight(float w, float scale) {
  return static_cast<std::int8_t>(std::clamp(std::nearbyint(w / scale), -kWeightMax, kWeightMax));
}

ActivationParams activation_params(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  ActivationParams q;
  q.scale = (hi - lo) / kActivationMax;
  if (q.scale == 0.0f) q.scale = 1.0f;
  q.zero_point = static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, kActivationMax));
  return q;
}

std::uint8_t quantize_activation(float x, ActivationParams q) {
  const float v = std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point);
  return static_cast<std::uint8_t>(std::clamp(v, 0.0f, kActivationMax));
}

float dequantize_accumulator(std::int32_t acc, std::int32_t x_zero_point, std::int32_t row_sum, float x_scale,
                             float w_scale, const float* bias) {
  const float v = static_cast<float>(acc - x_zero_point * row_sum) * (x_scale * w_scale);
  return bias != nullptr ? v + *bias : v;
}

ActivationParams symmetric_activation_params(float lo, float hi) {
  return {weight_scale(std::max(std::fabs(lo), std::fabs(hi))), kSymmetricZeroPoint};
}

ActivationParams attention_probs_params() { return {1.0f / kActivationMax, 0}; }

}  // namespace sparrow::quant
