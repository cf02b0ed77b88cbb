// The fused attention and the softmax's exponential against double-precision math, one test case per ISA
// level (the AVX-512 GEMM + AVX-512 exp, the AVX2 pair, and the scalar reference pair).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernels/linear.h"
#include "engine/kernels/ops.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::random_vector;
using sparrow::test::kernels_at;
namespace isa = sparrow::test::isa;

namespace {

// The softmax and GEMM kernels of one ISA, as the engine would pair them on a CPU capped at that ISA.
struct KernelPair {
  sk::F32GemmKernel gemm;
  sk::ExpMinusMaxSumKernel softmax;
};

// The pairs at `level`; none (the test case skipped) when this CPU may not run it.
std::vector<KernelPair> pairs_at(sk::Isa level) {
  const auto softmaxes = kernels_at(level, sk::exp_minus_max_sum_kernels());
  if (softmaxes.empty()) return {};
  std::vector<KernelPair> pairs;
  for (const auto& softmax : softmaxes) {
    for (const auto& gemm : sk::f32_gemm_kernels()) {
      if (gemm.isa == softmax.isa) pairs.push_back({gemm, softmax});
    }
  }
  REQUIRE(pairs.size() == softmaxes.size());  // every exp kernel has the GEMM of its ISA
  return pairs;
}

// out[b][i][h*dim + c] = sum_j softmax_j(scale q_i . k_j, valid keys only) v_j, in double; a row with no valid
// key is 0.
std::vector<double> reference_attention(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, std::size_t ld, std::size_t batch,
                                        std::size_t seq, std::size_t heads, std::size_t dim,
                                        const std::vector<std::uint8_t>& valid, double scale) {
  std::vector<double> out(batch * seq * heads * dim, 0.0);
  std::vector<double> p(seq);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t h = 0; h < heads; ++h) {
      for (std::size_t i = 0; i < seq; ++i) {
        const std::size_t qi = (b * seq + i) * ld + h * dim;
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        for (std::size_t j = 0; j < seq; ++j) {
          if (!valid[b * seq + j]) continue;
          double dot = 0;
          for (std::size_t d = 0; d < dim; ++d) dot += double{q[qi + d]} * k[(b * seq + j) * ld + h * dim + d];
          p[j] = dot * scale;
          mx = std::max(mx, p[j]);
        }
        for (std::size_t j = 0; j < seq; ++j) sum += valid[b * seq + j] ? (p[j] = std::exp(p[j] - mx)) : (p[j] = 0);
        if (sum == 0) continue;
        for (std::size_t d = 0; d < dim; ++d) {
          double acc = 0;
          for (std::size_t j = 0; j < seq; ++j) acc += p[j] / sum * v[(b * seq + j) * ld + h * dim + d];
          out[((b * seq + i) * heads + h) * dim + d] = acc;
        }
      }
    }
  }
  return out;
}

}  // namespace

// Tolerance: each output is a convex combination of values in [-1, 1] whose weights carry the FP32 dot
// products (head_dim terms), the exp's error (< 3e-7 relative, below) and FP32 sums over seq terms: measured
// worst case 9.5e-8 absolute (seq 128, head_dim 64, 100 valid keys); 1e-5 relative + 1e-6 absolute leaves room
// without hiding a wrong index or mask (those give errors of order 0.1).
TEMPLATE_TEST_CASE("fused attention with a padding mask matches double-precision attention", "[kernels][attention]",
                   isa::avx512skx, isa::avx2, isa::scalar) {
  for (const KernelPair& kernels : pairs_at(TestType::level)) {
    for (std::size_t seq : {1, 5, 37, 128, 200}) {
      for (std::size_t dim : {8, 24, 64}) {
        for (std::size_t threads : {1, 2}) {
          Rng rng(seq * 131 + dim);
          const std::size_t batch = 2, heads = 3, ld = heads * dim + 5;
          const auto q = random_vector(rng, batch * seq * ld, -1, 1), k = random_vector(rng, batch * seq * ld, -1, 1);
          const auto v = random_vector(rng, batch * seq * ld, -1, 1);
          // Sequence 0: a padded tail and a padded key inside; sequence 1: no padding.
          std::vector<std::uint8_t> valid(batch * seq, 1);
          for (std::size_t j = seq / 2 + 1; j < seq; ++j) valid[j] = 0;
          if (seq > 3) valid[1] = 0;
          const float scale = 1.0f / std::sqrt(float(dim));
          std::vector<float> out(batch * seq * ld, 7.0f);
          sk::ThreadPool pool(threads);
          sk::attention_f32(q.data(), k.data(), v.data(), ld, batch, seq, heads, dim, valid.data(), scale, out.data(), ld,
                            &pool, kernels.gemm, kernels.softmax);
          const auto want = reference_attention(q, k, v, ld, batch, seq, heads, dim, valid, scale);
          for (std::size_t row = 0; row < batch * seq; ++row) {
            for (std::size_t h = 0; h < heads; ++h) {
              for (std::size_t d = 0; d < dim; ++d) {
                const double w = want[(row * heads + h) * dim + d], got = out[row * ld + h * dim + d];
                INFO(kernels.gemm.name << " + " << kernels.softmax.name << ": seq " << seq << " dim " << dim
                                       << " threads " << threads << " row " << row << " head " << h << " d " << d);
                REQUIRE(std::fabs(got - w) <= 1e-5 * std::fabs(w) + 1e-6);
              }
            }
            // Columns past heads * dim are not the op's to write.
            for (std::size_t c = heads * dim; c < ld; ++c) REQUIRE(out[row * ld + c] == 7.0f);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("attention without a mask, and with every key masked", "[kernels][attention]", isa::avx512skx,
                   isa::avx2, isa::scalar) {
  Rng rng(11);
  const std::size_t seq = 70, heads = 2, dim = 8, ld = heads * dim;
  const auto q = random_vector(rng, seq * ld, -1, 1), k = random_vector(rng, seq * ld, -1, 1);
  const auto v = random_vector(rng, seq * ld, -1, 1);
  std::vector<std::uint8_t> all(seq, 1), none(seq, 0);
  for (const KernelPair& kernels : pairs_at(TestType::level)) {
    INFO(kernels.gemm.name << " + " << kernels.softmax.name);
    std::vector<float> unmasked(seq * ld), masked(seq * ld), zero(seq * ld, 5.0f);
    sk::attention_f32(q.data(), k.data(), v.data(), ld, 1, seq, heads, dim, nullptr, 0.3f, unmasked.data(), ld,
                      nullptr, kernels.gemm, kernels.softmax);
    sk::attention_f32(q.data(), k.data(), v.data(), ld, 1, seq, heads, dim, all.data(), 0.3f, masked.data(), ld,
                      nullptr, kernels.gemm, kernels.softmax);
    REQUIRE(unmasked == masked);
    sk::attention_f32(q.data(), k.data(), v.data(), ld, 1, seq, heads, dim, none.data(), 0.3f, zero.data(), ld,
                      nullptr, kernels.gemm, kernels.softmax);
    REQUIRE(std::all_of(zero.begin(), zero.end(), [](float x) { return x == 0.0f; }));
  }
}

// The row [x_0 .. x_{n-1}, 0] has maximum 0, so the kernel returns exp(x_j) itself. Bound: the AVX2 exp is a
// degree-6 Taylor polynomial on |r| <= ln2/2 (truncation < 1.3e-7) plus FP32 rounding of the reduction and the
// polynomial; measured at most 2.3e-7 relative over [-87, 0] in steps of 1e-3: required <= 3e-7.
TEMPLATE_TEST_CASE("the softmax's exp matches std::exp and flushes large negative inputs to 0", "[kernels][attention]",
                   isa::avx512skx, isa::avx2, isa::scalar) {
  std::vector<float> x;
  for (double t = -87.0; t < 0.0; t += 1e-3) x.push_back(static_cast<float>(t));
  const std::size_t normal = x.size();
  // Below the normal range, far below, and masked keys: 0 (or for std::exp a denormal), never NaN.
  for (float t : {-87.5f, -88.0f, -100.0f, -104.0f, -1e4f, -std::numeric_limits<float>::max(),
                  -std::numeric_limits<float>::infinity()}) {
    x.push_back(t);
  }
  x.push_back(0.0f);
  for (const auto& kernel : kernels_at(TestType::level, sk::exp_minus_max_sum_kernels())) {
    INFO("kernel " << kernel.name);
    // Several lengths, so the 8- and 16-lane tails and the 16- and 32-wide main loops all see every input.
    for (std::size_t offset : {0, 1, 3, 7, 15}) {
      std::vector<float> row(x.begin() + static_cast<std::ptrdiff_t>(offset), x.end());
      const float sum = kernel.fn(row.size(), row.data());
      double want_sum = 0, max_rel = 0;
      for (std::size_t j = 0; j < row.size(); ++j) {
        const float in = x[offset + j];
        const double want = std::exp(double{in});
        want_sum += want;
        INFO("x = " << in << " got " << row[j]);
        REQUIRE(!std::isnan(row[j]));
        if (offset + j < normal || in == 0.0f) {
          max_rel = std::max(max_rel, std::fabs(row[j] - want) / want);
        } else {
          REQUIRE(row[j] >= 0.0f);
          REQUIRE(row[j] <= 1.2e-38f);
          if (in <= -104.0f) REQUIRE(row[j] == 0.0f);
        }
      }
      REQUIRE(max_rel <= 3e-7);
      REQUIRE(std::fabs(sum - want_sum) <= 1e-6 * want_sum);
    }
  }
}

TEMPLATE_TEST_CASE("a softmax row of only masked entries becomes zero", "[kernels][attention]", isa::avx512skx, isa::avx2,
                   isa::scalar) {
  for (const auto& kernel : kernels_at(TestType::level, sk::exp_minus_max_sum_kernels())) {
    for (std::size_t n : {1, 8, 19}) {
      std::vector<float> row(n, -std::numeric_limits<float>::infinity());
      REQUIRE(kernel.fn(n, row.data()) == 0.0f);
      REQUIRE(std::all_of(row.begin(), row.end(), [](float v) { return v == 0.0f; }));
    }
  }
}
