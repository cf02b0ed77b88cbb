// Portable reference of the fused INT8-linear epilogue: lib/quant's formulas (dequantize_accumulator, then
// the activation, then quantize_activation for UINT8 outputs). The SIMD versions perform the same FP32
// operations in the same order (no FMA contraction: the libraries are built with -ffp-contract=off), so
// their results are bit-identical.
#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

float activated(float v, Activation activation) {
  switch (activation) {
    case Activation::none: break;
    case Activation::relu: v = v > 0.0f ? v : 0.0f; break;
    case Activation::gelu: v = f32_gelu_ref(v); break;
  }
  return v;
}

// The value before the activation: the dequantized accumulator with its bias, plus the residual if any.
float dequantized(std::int32_t acc, std::size_t n, const QEpilogueParams& p) {
  return quant::dequantize_accumulator(acc, p.x_zero_point, p.row_sum[n], p.x_scale, p.w_scale[n],
                                       p.bias != nullptr ? p.bias + n : nullptr);
}

float epilogue_value(std::int32_t acc, std::size_t n, const QEpilogueParams& p) {
  assert(p.residual == nullptr);
  return activated(dequantized(acc, n, p), p.activation);
}

std::uint8_t requantized(std::int32_t acc, std::size_t n, const QEpilogueParams& p) {
  return quant::quantize_activation(epilogue_value(acc, n, p), p.y);
}

}  // namespace

void qs32_f32_qc8w_epilogue__scalar(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                    const std::int32_t* acc, const QEpilogueParams& p, float* y, std::size_t ldy) {
  assert(m <= mr);
  for (std::size_t j = 0; j < nc; ++j) {
    for (std::size_t t = 0; t < m; ++t) {
      float v = dequantized(acc[j * mr + t], n_begin + j, p);
      if (p.residual != nullptr) v += p.residual[t * ldy + n_begin + j];
      y[t * ldy + n_begin + j] = activated(v, p.activation);
    }
  }
}

void qs32_qu8_qc8w_epilogue__scalar(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                    const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y,
                                    std::size_t ldy) {
  assert(m <= mr);
  for (std::size_t j = 0; j < nc; ++j) {
    for (std::size_t t = 0; t < m; ++t) y[t * ldy + n_begin + j] = requantized(acc[j * mr + t], n_begin + j, p);
  }
}

void qs32_qu8_qc8w_panel_epilogue__scalar(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                          const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y_panel) {
  assert(m <= mr && n_begin % 4 == 0);
  for (std::size_t j = 0; j < nc; ++j) {
    const std::size_t n = n_begin + j;
    for (std::size_t t = 0; t < m; ++t) y_panel[(n / 4) * mr * 4 + t * 4 + n % 4] = requantized(acc[j * mr + t], n, p);
  }
}

}  // namespace sparrow::kernels
