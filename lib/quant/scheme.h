// Sparrow's one quantization scheme (DESIGN.md "One quantization scheme", docs/format.md), as scalar formulas.
// The trainer's tensor code (compress/quant/quant_scheme.h) applies the same formulas to whole tensors, the
// exporter quantizes weights with them and the engine kernels quantize, requantize and check against them.
// r(x) is rounding half to even (std::nearbyint in the default rounding mode); every operation is FP32.
//
// Declarations only: the kernels' ISA-flagged files include this header, and no inline code may be built
// with ISA flags (STYLE's ODR rule), so every formula is defined out of line in scheme.cpp.
#pragma once

#include <cstdint>

namespace sparrow::quant {

// INT8 weights are symmetric in [-127, 127]; UINT8 activations are in [0, 255].
inline constexpr float kWeightMax = 127.0f;
inline constexpr float kActivationMax = 255.0f;

// UINT8 asymmetric quantization of one tensor: q = clamp(r(x / scale) + zero_point, 0, 255).
struct ActivationParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// Scale of one weight row (output channel) from its largest |w|: max_abs / 127, or 1 for an all-zero row.
float weight_scale(float max_abs);

// q_w = clamp(r(w / scale), -127, 127).
std::int8_t quantize_weight(float w, float scale);

// From an observed range [lo, hi]: lo' = min(lo, 0), hi' = max(hi, 0) (the range always holds 0);
// scale = (hi' - lo') / 255, or 1 when that is 0; zero_point = clamp(r(-lo' / scale), 0, 255).
ActivationParams activation_params(float lo, float hi);

// q_x = clamp(r(x / scale) + zero_point, 0, 255): an FP32 division x / scale (not a multiplication by the
// reciprocal, not in double), rounded, then the zero point added in FP32. Also the requantization of an
// INT8 layer's output value v to the next layer's UINT8 input: requantize(v) = quantize_activation(v, y).
std::uint8_t quantize_activation(float x, ActivationParams q);

// The FP32 value of one output of an INT8 layer from its exact INT32 sum acc = sum_k q_x[k] * q_w[k] and the
// row sum sum_k q_w[k], grouped exactly as
//   v = float(acc - x_zero_point * row_sum) * (x_scale * w_scale) + bias
// (the integer correction in INT32, then one conversion; the two scales multiplied first). bias points at
// this output channel's bias, or is null for none: adding 0 instead would turn a -0 into +0.
float dequantize_accumulator(std::int32_t acc, std::int32_t x_zero_point, std::int32_t row_sum, float x_scale,
                             float w_scale, const float* bias);

// INT8 attention (docs/format.md "INT8 attention"). Q is a UINT8 activation (activation_params). K and V are
// INT8 symmetric per tensor, carried as UINT8 with zero point 128 so that q - 128 is the INT8 value the kernels
// multiply: scale = weight_scale(max(|lo|, |hi|)) (in range, q - 128 lies in [-127, 127]). The softmax output
// P is UINT8 with scale 1/255 and zero point 0.
inline constexpr std::int32_t kSymmetricZeroPoint = 128;
ActivationParams symmetric_activation_params(float lo, float hi);
ActivationParams attention_probs_params();

}  // namespace sparrow::quant
