// Every INT8 linear micro-kernel (sparse block4 and dense) against dense math over the unpacked weights.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <utility>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "kernels/isa_levels.h"
#include "kernels/spmm_b4_tester.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::SpmmB4Tester;
using sparrow::test::for_each_kernel_at;
namespace isa = sparrow::test::isa;

namespace {

template <class Kernel>
void fixed_cases(const Kernel& kernel) {
  const std::size_t mr = kernel.mr;
  SpmmB4Tester().m(mr).n(8).k(4).seed(1).test(kernel);                      // k_eq_kblock
  for (std::size_t k = 1; k < 4; ++k) SpmmB4Tester().m(mr).n(8).k(k).seed(2).test(kernel);  // k_lt_kblock
  for (std::size_t k = 5; k < 40; k += 3) SpmmB4Tester().m(mr).n(9).k(k).sparsity(0.5).seed(k).test(kernel);
  for (std::size_t m = 1; m < mr; m += 7) SpmmB4Tester().m(m).n(5).k(33).sparsity(0.3).seed(m).test(kernel);  // m_lt_mr
  SpmmB4Tester().m(3 * mr + 5).n(37).k(70).sparsity(0.7).seed(3).test(kernel);    // several panels, ragged
  SpmmB4Tester().m(mr + 1).n(23).k(64).output_stride(29).seed(4).test(kernel);   // prime output stride
  SpmmB4Tester().m(mr).n(20).k(64).sparsity(0.5).seed(5).test(kernel);           // half sparse
  SpmmB4Tester().m(mr).n(20).k(64).sparsity(1.0).seed(6).test(kernel);           // zero weights
  SpmmB4Tester().m(2 * mr).n(40).k(96).sparsity(0.8).empty_rows(0.3).seed(7).test(kernel);
  SpmmB4Tester().m(2 * mr).n(40).k(98).sparsity(0.9).dense_rows(0.3).seed(8).test(kernel);
  SpmmB4Tester().m(mr + 9).n(33).k(130).sparsity(0.9).unstructured(true).seed(9).test(kernel);  // padded blocks
  for (int zp : {0, 255}) SpmmB4Tester().m(mr).n(17).k(51).sparsity(0.5).zero_point(zp).seed(10).test(kernel);
  // Largest accumulators: K = 3072 at the value extremes (|acc| up to 3072*255*127).
  SpmmB4Tester().m(mr).n(8).k(3072).extremes(true).zero_point(255).seed(11).test(kernel);
  SpmmB4Tester().m(mr).n(8).k(3072).extremes(true).zero_point(0).seed(12).test(kernel);
  for (auto act : {sk::Activation::relu, sk::Activation::gelu}) {
    SpmmB4Tester().m(mr + 3).n(19).k(45).sparsity(0.5).activation(act).seed(13).test(kernel);
    SpmmB4Tester().m(mr + 3).n(19).k(45).sparsity(0.5).activation(act).requantize(true).seed(14).test(kernel);
  }
  SpmmB4Tester().m(mr + 3).n(19).k(45).bias(false).seed(15).test(kernel);
  SpmmB4Tester().m(2 * mr + 7).n(61).k(77).sparsity(0.6).requantize(true).output_stride(67).seed(16).test(kernel);
  SpmmB4Tester().m(3 * mr + 1).n(150).k(64).sparsity(0.5).threads(2).seed(17).test(kernel);  // 2 threads
  // Index widths: K4 = 256 is the largest with u8 column indices (up to 255), K4 = 257 the smallest with u16.
  SpmmB4Tester().m(mr).n(9).k(1024).sparsity(0.7).dense_rows(0.3).seed(19).test(kernel);
  SpmmB4Tester().m(mr).n(9).k(1025).sparsity(0.7).dense_rows(0.3).seed(20).test(kernel);
  for (std::size_t n : {1, 4, 7, 16, 37}) {  // next layer's panels, ragged N and M
    SpmmB4Tester().m(2 * mr + 5).n(n).k(41).sparsity(0.5).panel_output(true).activation(sk::Activation::gelu).seed(18 + n).test(kernel);
  }
}

template <class Kernel>
void random_cases(const Kernel& kernel, int seeds) {
  for (int s = 0; s < seeds; ++s) {
    Rng rng(1000 + s);
    const auto act = static_cast<sk::Activation>(rng.uniform_int(0, 2));
    SpmmB4Tester()
        .m(rng.uniform_int(1, static_cast<int>(3 * kernel.mr)))
        .n(rng.uniform_int(1, 70))
        .k(rng.uniform_int(1, 200))
        .sparsity(rng.uniform(0.0f, 1.0f))
        .unstructured(rng.chance(0.3))
        .empty_rows(rng.chance(0.3) ? 0.2 : 0.0)
        .dense_rows(rng.chance(0.3) ? 0.2 : 0.0)
        .zero_point(rng.chance(0.2) ? (rng.chance(0.5) ? 0 : 255) : -1)
        .activation(act)
        .bias(rng.chance(0.8))
        .requantize(rng.chance(0.3))
        .panel_output(rng.chance(0.2))
        .threads(rng.chance(0.3) ? 2 : 1)
        .seed(static_cast<std::uint64_t>(5000 + s))
        .test(kernel);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("spmm-b4 micro-kernels: fixed cases", "[kernels][spmm-b4]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmm_b4_kernels(), [](const auto& k) { fixed_cases(k); });
}

TEMPLATE_TEST_CASE("spmm-b4 micro-kernels: random ragged shapes over many seeds", "[kernels][spmm-b4]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmm_b4_kernels(), [](const auto& k) { random_cases(k, 150); });
}

TEMPLATE_TEST_CASE("spmm-rx4 micro-kernels (R x 4 tiles): fixed cases", "[kernels][spmm-rx4]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmm_rx4_kernels(), [](const auto& k) { fixed_cases(k); });
}

TEMPLATE_TEST_CASE("spmm-rx4 micro-kernels (R x 4 tiles): random ragged shapes over many seeds", "[kernels][spmm-rx4]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmm_rx4_kernels(), [](const auto& k) { random_cases(k, 150); });
}

// The one-token kernels run over panels of one row: every case above, a token per panel. VNNI and AVX2 have
// their own; AVX-512 without VNNI falls back to AVX2's.
TEMPLATE_TEST_CASE("spmv-b4 micro-kernels (one token): fixed cases", "[kernels][spmv-b4]",
                   isa::avx512vnni, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmv_b4_kernels(), [](const auto& k) {
    REQUIRE(k.mr == 1);
    fixed_cases(k);
  });
}

TEMPLATE_TEST_CASE("spmv-b4 micro-kernels (one token): random ragged shapes over many seeds", "[kernels][spmv-b4]",
                   isa::avx512vnni, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::spmv_b4_kernels(), [](const auto& k) { random_cases(k, 150); });
}

TEST_CASE("spmm_kernel(R) picks a kernel for R x 4 tiles with spmm-b4's panel width", "[kernels][spmm-rx4][dispatch]") {
  for (std::size_t rows : {1, 2, 4}) {
    const sk::SpmmB4Kernel& k = sk::spmm_kernel(rows);
    INFO("R = " << rows << ": " << k.name);
    CHECK(k.nr == rows);
    CHECK(k.mr == sk::spmm_b4_kernel().mr);
    CHECK(sk::mayiuse(k.isa));
  }
  for (const auto& k : sk::spmm_rx4_kernels()) {
    for (const auto& b4 : sk::spmm_b4_kernels())
      if (b4.isa == k.isa) CHECK(b4.mr == k.mr);
  }
  CHECK_THROWS_AS(sk::spmm_kernel(3), std::invalid_argument);
}

TEST_CASE("spmm-b4 scalar reference at other panel widths", "[kernels][spmm-b4]") {
  sk::SpmmB4Kernel scalar = sk::spmm_b4_kernels().back();
  REQUIRE(scalar.isa == sk::Isa::scalar);
  for (std::size_t mr : {8, 16, 40}) {
    scalar.mr = mr;
    SpmmB4Tester().m(2 * mr + 3).n(21).k(37).sparsity(0.5).seed(mr).test(scalar);
  }
}

TEMPLATE_TEST_CASE("dense INT8 GEMM micro-kernels: fixed cases", "[kernels][qgemm]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::qgemm_kernels(), [](const auto& k) { fixed_cases(k); });
}

TEMPLATE_TEST_CASE("dense INT8 GEMM micro-kernels: random ragged shapes over many seeds", "[kernels][qgemm]",
                   isa::avx512vnni, isa::avx512skx, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::qgemm_kernels(), [](const auto& k) { random_cases(k, 100); });
}

// The one-token dense kernels, as spmv-b4's: every case above, a token per panel.
TEMPLATE_TEST_CASE("dense INT8 GEMV micro-kernels (one token): fixed cases", "[kernels][qgemv]", isa::avx512vnni, isa::avx2,
                   isa::scalar) {
  for_each_kernel_at(TestType::level, sk::qgemv_kernels(), [](const auto& k) {
    REQUIRE(k.mr == 1);
    fixed_cases(k);
  });
}

TEMPLATE_TEST_CASE("dense INT8 GEMV micro-kernels (one token): random ragged shapes over many seeds", "[kernels][qgemv]",
                   isa::avx512vnni, isa::avx2, isa::scalar) {
  for_each_kernel_at(TestType::level, sk::qgemv_kernels(), [](const auto& k) { random_cases(k, 150); });
}

TEST_CASE("dense_kernel(m): the one-token kernel at one token, the panel kernel otherwise", "[kernels][qgemv][dispatch]") {
  CHECK(&sk::dense_kernel(2) == &sk::qgemm_kernel());
  CHECK(&sk::dense_kernel(64) == &sk::qgemm_kernel());
  const sk::QGemmKernel& one = sk::dense_kernel(1);
  INFO(one.name);
  CHECK(sk::mayiuse(one.isa));
  if (sk::mayiuse(sk::Isa::avx2)) CHECK(one.mr == 1);
}
