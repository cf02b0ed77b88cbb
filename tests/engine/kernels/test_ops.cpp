// The FP32 operators and the quantization helpers against straightforward double-precision math.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernels/ops.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::random_vector;
using sparrow::test::kernels_at;
namespace isa = sparrow::test::isa;

namespace {

bool close(double got, double want, double rel, double abs = 1e-30) {
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}

}  // namespace

// Each GELU kernel against the exact form computed in double here: the scalar kernel is that value rounded
// once (1e-6 relative), the AVX2 one within 2e-7 * max(1, |x|), tails and extremes included.
TEMPLATE_TEST_CASE("GELU kernels against the erf-exact GELU", "[kernels][ops]", isa::avx2, isa::scalar) {
  std::vector<float> x;
  for (float v = -30.0f; v <= 30.0f; v += 0.00137f) x.push_back(v);
  for (const float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 100.0f, -100.0f, 1e6f, -1e6f}) x.push_back(v);
  x.push_back(1.5f);  // 3 left over after an 8-wide loop
  const auto exact = [](float v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); };
  sparrow::test::for_each_kernel_at(TestType::level, sk::gelu_kernels(), [&](const sk::GeluKernel& kernel) {
    std::vector<float> y(x.size());
    sk::gelu_f32(x.data(), x.size(), y.data(), kernel);
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (kernel.isa == sk::Isa::scalar) {
        INFO("x = " << x[i]);
        REQUIRE(close(y[i], exact(x[i]), 1e-6, 1e-37));
      }
      const double err = std::fabs(y[i] - static_cast<float>(exact(x[i]))) / std::max(1.0f, std::fabs(x[i]));
      if (err > worst) worst = err, at = i;
    }
    INFO("worst at x = " << x[at] << ": " << y[at] << " vs " << exact(x[at]));
    CHECK(worst <= 2e-7);
  });
}

TEMPLATE_TEST_CASE("softmax", "[kernels][ops]", isa::avx2, isa::scalar) {
  Rng rng(1);
  const std::size_t m = 7, n = 37, ld = 41;
  const auto x = random_vector(rng, m * ld, -3.0f, 5.0f);
  std::vector<float> y(m * ld);
  for (const auto& kernel : kernels_at(TestType::level, sk::exp_minus_max_sum_kernels())) {
    INFO("kernel " << kernel.name);
    sk::softmax_f32(x.data(), m, n, ld, y.data(), ld, kernel);
    for (std::size_t i = 0; i < m; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < n; ++j) sum += std::exp(double{x[i * ld + j]});
      for (std::size_t j = 0; j < n; ++j) REQUIRE(close(y[i * ld + j], std::exp(double{x[i * ld + j]}) / sum, 1e-6));
    }
  }
}

TEST_CASE("add and ReLU", "[kernels][ops]") {
  Rng rng(1);
  const std::size_t m = 7, n = 37, ld = 41;
  const auto x = random_vector(rng, m * ld, -3.0f, 5.0f), beta = random_vector(rng, n, -1.0f, 1.0f);
  std::vector<float> s(m * ld);
  sk::add_f32(x.data(), beta.data(), n, s.data());
  for (std::size_t j = 0; j < n; ++j) REQUIRE(s[j] == x[j] + beta[j]);
  sk::relu_f32(x.data(), m * ld, s.data());
  for (std::size_t j = 0; j < m * ld; ++j) REQUIRE(s[j] == std::max(x[j], 0.0f));
}

TEST_CASE("im2col then a plain matrix product is the direct convolution", "[kernels][ops]") {
  Rng rng(7);
  sk::Conv2dShape s;
  s.channels = 3;
  s.height = 11;
  s.width = 9;
  s.kernel_h = 3;
  s.kernel_w = 2;
  s.stride = 2;
  s.pad = 1;
  const std::size_t oc = 5, oh = s.out_h(), ow = s.out_w(), patch = s.patch();
  const auto x = random_vector(rng, s.channels * s.height * s.width, -1, 1);
  const auto w = random_vector(rng, oc * patch, -1, 1);
  std::vector<float> cols(oh * ow * patch, -99.0f);
  sk::im2col_f32(x.data(), s, cols.data());
  for (std::size_t o = 0; o < oc; ++o)
    for (std::size_t oy = 0; oy < oh; ++oy)
      for (std::size_t ox = 0; ox < ow; ++ox) {
        double direct = 0, via_cols = 0;
        for (std::size_t c = 0; c < s.channels; ++c)
          for (std::size_t ky = 0; ky < s.kernel_h; ++ky)
            for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
              const long iy = long(oy * s.stride + ky) - long(s.pad), ix = long(ox * s.stride + kx) - long(s.pad);
              if (iy < 0 || ix < 0 || iy >= long(s.height) || ix >= long(s.width)) continue;
              direct += double(x[(c * s.height + iy) * s.width + ix]) * w[o * patch + (c * s.kernel_h + ky) * s.kernel_w + kx];
            }
        for (std::size_t i = 0; i < patch; ++i) via_cols += double(cols[(oy * ow + ox) * patch + i]) * w[o * patch + i];
        INFO("o " << o << " oy " << oy << " ox " << ox);
        REQUIRE(close(via_cols, direct, 1e-12, 1e-12));
      }
}

TEST_CASE("max pooling skips padding", "[kernels][ops]") {
  Rng rng(3);
  sk::Pool2dShape s;
  s.channels = 2;
  s.height = 7;
  s.width = 6;
  s.kernel = 3;
  s.stride = 2;
  s.pad = 1;
  const auto x = random_vector(rng, s.channels * s.height * s.width, -1, 1);
  std::vector<float> mx(s.channels * s.out_h() * s.out_w());
  sk::max_pool2d_f32(x.data(), s, mx.data());
  for (std::size_t c = 0; c < s.channels; ++c)
    for (std::size_t oy = 0; oy < s.out_h(); ++oy)
      for (std::size_t ox = 0; ox < s.out_w(); ++ox) {
        double m = -1e300;
        for (std::size_t ky = 0; ky < s.kernel; ++ky)
          for (std::size_t kx = 0; kx < s.kernel; ++kx) {
            const long iy = long(oy * s.stride + ky) - long(s.pad), ix = long(ox * s.stride + kx) - long(s.pad);
            if (iy < 0 || ix < 0 || iy >= long(s.height) || ix >= long(s.width)) continue;
            m = std::max(m, double(x[(c * s.height + iy) * s.width + ix]));
          }
        const std::size_t i = (c * s.out_h() + oy) * s.out_w() + ox;
        REQUIRE(mx[i] == float(m));
      }
}
