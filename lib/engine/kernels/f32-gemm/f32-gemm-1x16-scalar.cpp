// Portable reference FP32 GEMM over the 16-channel weight panels (accumulates in FP32, k ascending, like
// the SIMD kernels, so results agree to rounding of the FMA).
#include <cassert>

#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_gemm_ukernel_1x16__scalar(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                                   const float* w, const float* bias, Activation act, float* y, std::size_t ldy) {
  assert(m == 1 && nc <= 16);
  for (std::size_t j = 0; j < nc; ++j) {
    float sum = 0.0f;
    for (std::size_t i = 0; i < k; ++i) sum += x[i] * w[i * kF32PanelNr + j];
    if (bias != nullptr) sum += bias[j];
    if (act == Activation::relu) sum = sum > 0.0f ? sum : 0.0f;
    if (act == Activation::gelu) sum = f32_gelu_ref(sum);
    y[j] = sum;
  }
}

}  // namespace sparrow::kernels
