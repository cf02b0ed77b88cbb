// The exponential pass of a softmax row, portable reference: x[j] <- exp(x[j] - max x), returns the sum.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "engine/kernels/ops_ukernels.h"

namespace sparrow::kernels {

float f32_exp_minus_max_sum_ukernel__scalar(std::size_t n, float* x) {
  assert(n != 0);
  const float mx = *std::max_element(x, x + n);
  if (mx == -std::numeric_limits<float>::infinity()) {  // every entry masked
    std::fill(x, x + n, 0.0f);
    return 0.0f;
  }
  float sum = 0.0f;
  for (std::size_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - mx);
    sum += x[j];
  }
  return sum;
}

}  // namespace sparrow::kernels
