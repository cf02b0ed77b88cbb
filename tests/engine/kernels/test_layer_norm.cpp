// Layer norm, every kernel this CPU may run, against two-pass double-precision math.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engine/kernels/ops.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::kernels_at;
namespace isa = sparrow::test::isa;

// Tolerance: the AVX2 kernel sums in FP32 (16 partial sums per row); with a mean of 1 and spread 4 (inputs in
// [-3, 5]) its normalized values measured within 3.9e-7 of double (n up to 768); required 4e-6 relative +
// 4e-6 absolute. The double-precision scalar kernel is within FP32 rounding.
TEMPLATE_TEST_CASE("layer norm matches double-precision math", "[kernels][layer_norm]", isa::avx2, isa::scalar) {
  for (const auto& kernel : kernels_at(TestType::level, sk::layer_norm_kernels())) {
    for (std::size_t n : {1, 7, 8, 37, 128, 768}) {
      Rng rng(n);
      const std::size_t m = 5, ld = n + 3;
      std::vector<float> x(m * ld), gamma(n), beta(n);
      for (auto& v : x) v = rng.uniform(-3.0f, 5.0f);
      for (auto& v : gamma) v = rng.uniform(0.5f, 1.5f);
      for (auto& v : beta) v = rng.uniform(-1.0f, 1.0f);
      std::vector<float> y(m * ld, 9.0f);
      sk::layer_norm_f32(x.data(), m, n, ld, gamma.data(), beta.data(), 1e-5f, y.data(), ld, kernel);
      for (std::size_t i = 0; i < m; ++i) {
        double mean = 0, var = 0;
        for (std::size_t j = 0; j < n; ++j) mean += x[i * ld + j];
        mean /= double(n);
        for (std::size_t j = 0; j < n; ++j) var += (x[i * ld + j] - mean) * (x[i * ld + j] - mean);
        var /= double(n);
        for (std::size_t j = 0; j < n; ++j) {
          const double want = (x[i * ld + j] - mean) / std::sqrt(var + 1e-5) * gamma[j] + beta[j];
          INFO(kernel.name << ": n " << n << " row " << i << " column " << j);
          REQUIRE(std::fabs(y[i * ld + j] - want) <= 4e-6 * std::fabs(want) + 4e-6);
        }
        // The padding between rows is left alone.
        for (std::size_t j = n; j < ld; ++j) REQUIRE(y[i * ld + j] == 9.0f);
      }
    }
  }
}
