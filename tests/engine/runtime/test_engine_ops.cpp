// The engine's own vectorized op code against the kernels' reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/quant.h"
#include "support/skip.h"

namespace sparrow::engine::ops {
void gelu_f32_avx2(const float* x, std::size_t count, float* y);
}

using namespace sparrow;

TEST_CASE("AVX2 GELU stays within 2e-7 * max(1, |x|) of the double-precision reference", "[engine][ops]") {
  if (!kernels::mayiuse(kernels::Isa::avx2)) {
    return testing::skip(std::string("this CPU (max ISA ") + kernels::isa_name(kernels::max_isa()) + ") lacks avx2");
  }
  std::vector<float> x;
  for (float v = -30.0f; v <= 30.0f; v += 0.00137f) x.push_back(v);
  for (const float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 100.0f, -100.0f, 1e6f, -1e6f}) x.push_back(v);
  x.push_back(1.5f);  // 3 left over after the 8-wide loop
  std::vector<float> y(x.size());
  engine::ops::gelu_f32_avx2(x.data(), x.size(), y.data());
  float worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float err = std::abs(y[i] - kernels::gelu_f32(x[i])) / std::max(1.0f, std::abs(x[i]));
    if (err > worst) worst = err, at = i;
  }
  INFO("worst at x = " << x[at] << ": " << y[at] << " vs " << kernels::gelu_f32(x[at]));
  CHECK(worst <= 2e-7f);
}
