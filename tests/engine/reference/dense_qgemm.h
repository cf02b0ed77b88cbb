// Plain dense math over unpacked operands: the expected values of the INT8 linear tests, independent of
// every packed layout, so a packing bug cannot hide behind a kernel that reads the same layout.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/quant.h"

namespace sparrow::test {

// acc[t][n] = sum_k x[t][k] * w[n][k], x row-major [m][k], w row-major [n][k].
inline std::vector<std::int32_t> dense_qgemm_acc(const std::vector<std::uint8_t>& x, const std::vector<std::int8_t>& w,
                                                 std::size_t m, std::size_t n, std::size_t k) {
  std::vector<std::int32_t> acc(m * n);
  for (std::size_t t = 0; t < m; ++t) {
    for (std::size_t c = 0; c < n; ++c) {
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < k; ++i) sum += std::int64_t{x[t * k + i]} * w[c * k + i];
      acc[t * n + c] = static_cast<std::int32_t>(sum);
    }
  }
  return acc;
}

inline std::vector<std::int32_t> dense_row_sums(const std::vector<std::int8_t>& w, std::size_t n, std::size_t k) {
  std::vector<std::int32_t> sums(n, 0);
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t i = 0; i < k; ++i) sums[c] += w[c * k + i];
  return sums;
}

// The epilogue in double: what the FP32 result approximates, and the magnitude its rounding scales with.
struct ExpectedValue {
  double value;
  double magnitude;
};
inline ExpectedValue expected_epilogue(std::int32_t acc, std::size_t n, const kernels::QEpilogueParams& p,
                                       const std::vector<std::int32_t>& row_sum) {
  const double scale = static_cast<double>(p.x_scale * p.w_scale[n]);
  const double product = static_cast<double>(std::int64_t{acc} - std::int64_t{p.x_zero_point} * row_sum[n]) * scale;
  const double bias = p.bias != nullptr ? p.bias[n] : 0.0;
  double v = product + bias;
  if (p.activation == kernels::Activation::relu) v = v > 0.0 ? v : 0.0;
  if (p.activation == kernels::Activation::gelu) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  return {v, std::fabs(product) + std::fabs(bias)};
}

}  // namespace sparrow::test
