// FP32 GEMM kernels and their driver, over the format's packed layout, against double-precision dense math.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "format/weights.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::kernels_at;
namespace isa = sparrow::test::isa;

namespace {

// Every kernel of the table at `level`, through the driver, on random shapes (m rows at most).
void check_against_double_math(sk::Isa level, const std::vector<sk::F32GemmKernel>& table, int max_m) {
  for (const auto& kernel : kernels_at(level, table)) {
    for (int seed = 0; seed < 60; ++seed) {
      Rng rng(seed);
      const std::size_t m = rng.uniform_int(1, max_m), n = rng.uniform_int(1, 150), k = rng.uniform_int(1, 150);
      const std::size_t ldx = k + rng.uniform_int(0, 3), ldy = n + rng.uniform_int(0, 3);
      const auto act = static_cast<sk::Activation>(rng.uniform_int(0, 2));
      const bool has_bias = rng.chance(0.7);
      std::vector<float> x(m * ldx), w(n * k), bias(n), y(m * ldy, -99.0f);
      for (auto& v : x) v = rng.uniform(-2.0f, 2.0f);
      for (auto& v : w) v = rng.uniform(-1.0f, 1.0f);
      for (auto& v : bias) v = rng.uniform(-1.0f, 1.0f);
      const sparrow::format::PackedWeights packed = sparrow::format::pack_fp32(w.data(), n, k);
      sk::ThreadPool pool(rng.chance(0.5) ? 2 : 1);
      sk::f32_gemm(x.data(), m, ldx, packed.f32.data(), n, k, has_bias ? bias.data() : nullptr, act, y.data(), ldy,
                   &pool, kernel);
      INFO(kernel.name << " seed " << seed << " m " << m << " n " << n << " k " << k);
      for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < ldy; ++j) {
          if (j >= n) {
            REQUIRE(y[i * ldy + j] == -99.0f);
            continue;
          }
          double sum = has_bias ? bias[j] : 0.0, mag = std::fabs(sum);
          for (std::size_t q = 0; q < k; ++q) {
            sum += double{x[i * ldx + q]} * w[j * k + q];
            mag += std::fabs(double{x[i * ldx + q]} * w[j * k + q]);
          }
          if (act == sk::Activation::relu) sum = sum > 0 ? sum : 0;
          if (act == sk::Activation::gelu) sum = 0.5 * sum * (1.0 + std::erf(sum / std::sqrt(2.0)));
          INFO("row " << i << " col " << j);
          REQUIRE(std::fabs(y[i * ldy + j] - sum) <= 1e-6 * mag * std::sqrt(double(k)) + 1e-7);
        }
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("FP32 GEMM kernels match double-precision math", "[kernels][f32-gemm]", isa::avx512skx, isa::avx2,
                   isa::scalar) {
  check_against_double_math(TestType::level, sk::f32_gemm_kernels(), 40);
}

// The one-row kernels run a row per call; the driver still takes several rows.
TEMPLATE_TEST_CASE("FP32 GEMV kernels (one row) match double-precision math", "[kernels][f32-gemv]", isa::avx512skx,
                   isa::avx2, isa::scalar) {
  check_against_double_math(TestType::level, sk::f32_gemv_kernels(), 3);
}

// A row's outputs must not depend on whether it ran alone (decoding, a batch of one) or in a batch: the one-row
// kernel sums in the order of the GEMM kernel of its ISA, so the bits agree, not just the values.
TEMPLATE_TEST_CASE("FP32 GEMV kernels give the GEMM kernel's bits for each row", "[kernels][f32-gemv]", isa::avx512skx,
                   isa::avx2) {
  const auto gemms = kernels_at(TestType::level, sk::f32_gemm_kernels());
  for (const auto& gemv : kernels_at(TestType::level, sk::f32_gemv_kernels())) {
    for (int seed = 0; seed < 20; ++seed) {
      Rng rng(100 + seed);
      const std::size_t m = rng.uniform_int(2, 9), n = rng.uniform_int(1, 300), k = rng.uniform_int(1, 700);
      const auto act = static_cast<sk::Activation>(rng.uniform_int(0, 2));
      std::vector<float> x(m * k), w(n * k), bias(n), batch(m * n), alone(n);
      for (auto& v : x) v = rng.uniform(-2.0f, 2.0f);
      for (auto& v : w) v = rng.uniform(-1.0f, 1.0f);
      for (auto& v : bias) v = rng.uniform(-1.0f, 1.0f);
      const sparrow::format::PackedWeights packed = sparrow::format::pack_fp32(w.data(), n, k);
      sk::f32_gemm(x.data(), m, k, packed.f32.data(), n, k, bias.data(), act, batch.data(), n, nullptr, gemms.front());
      INFO(gemv.name << " vs " << gemms.front().name << " seed " << seed << " m " << m << " n " << n << " k " << k);
      for (std::size_t i = 0; i < m; ++i) {
        sk::f32_gemm(x.data() + i * k, 1, k, packed.f32.data(), n, k, bias.data(), act, alone.data(), n, nullptr, gemv);
        INFO("row " << i);
        REQUIRE(std::equal(alone.begin(), alone.end(), batch.begin() + static_cast<std::ptrdiff_t>(i * n)));
      }
    }
  }
}

TEST_CASE("f32_kernel(m): the one-row kernel at one row, the GEMM kernel otherwise", "[kernels][f32-gemv][dispatch]") {
  CHECK(&sk::f32_kernel(2) == &sk::f32_gemm_kernel());
  const sk::F32GemmKernel& one = sk::f32_kernel(1);
  INFO(one.name);
  CHECK(one.mr == 1);
  CHECK(sk::mayiuse(one.isa));
}
