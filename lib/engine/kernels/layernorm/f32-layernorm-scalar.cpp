// Layer norm over rows of n floats, portable reference: two passes in double (a single-pass
// E[x^2] - E[x]^2 loses digits when the mean is large).
#include <cmath>

#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

void f32_layernorm_ukernel__scalar(std::size_t m, std::size_t n, const float* x, std::size_t ldx, const float* gamma,
                                   const float* beta, float eps, float* y, std::size_t ldy) {
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
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

}  // namespace sparrow::kernels
