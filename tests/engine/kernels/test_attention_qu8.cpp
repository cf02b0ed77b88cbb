// INT8 attention against the scheme written out independently (docs/format.md "INT8 attention"): exact integer
// sums, the epilogue's grouping of the scales, a softmax in double, P rounded to UINT8 steps of 1/255. One test
// case per ISA level of the dense INT8 GEMM; the epilogue, exp and quantize-pack kernels are the best ones at or
// below that level, as the engine pairs them on a CPU capped there.
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
using sparrow::test::kernels_at;
namespace isa = sparrow::test::isa;

namespace {

// The first (best) kernel of a table that a CPU capped at `level` may run.
template <class Kernel>
const Kernel& best_at_most(sk::Isa level, const std::vector<Kernel>& table) {
  for (const Kernel& k : table) {
    if ((static_cast<std::uint32_t>(k.isa) & ~static_cast<std::uint32_t>(level)) == 0) return k;
  }
  FAIL("no kernel at or below the level");
  return table.back();
}

struct AttentionCase {
  std::size_t batch = 2, seq = 0, heads = 3, dim = 0, ld = 0;
  std::vector<std::uint8_t> q, k, v, valid;
  sk::AttentionQuant quant;
};

// Random UINT8 operands (K and V around their zero point 128), a padded tail and a padded key inside
// sequence 0, none in sequence 1.
AttentionCase make_attention_case(std::size_t seq, std::size_t dim) {
  AttentionCase c;
  c.seq = seq;
  c.dim = dim;
  c.ld = c.heads * dim + 3;
  Rng rng(seq * 977 + dim);
  const auto bytes = [&](int lo, int hi) {
    std::vector<std::uint8_t> x(c.batch * seq * c.ld);
    for (auto& b : x) b = static_cast<std::uint8_t>(rng.uniform_int(lo, hi));
    return x;
  };
  c.q = bytes(0, 255);
  c.k = bytes(1, 255);
  c.v = bytes(1, 255);
  c.valid.assign(c.batch * seq, 1);
  for (std::size_t j = seq / 2 + 1; j < seq; ++j) c.valid[j] = 0;
  if (seq > 3) c.valid[1] = 0;
  c.quant.q = {0.02f, 97};
  c.quant.k_scale = 0.013f;
  c.quant.v_scale = 0.011f;
  return c;
}

// The scheme, step by step; outputs [batch * seq][heads * dim].
std::vector<float> scheme_attention(const AttentionCase& c, float scale) {
  const std::size_t width = c.heads * c.dim;
  std::vector<float> out(c.batch * c.seq * width, 0.0f);
  const float score_factor = c.quant.q.scale * (c.quant.k_scale * scale);
  const float s_p = 1.0f / 255.0f, out_factor = s_p * c.quant.v_scale;
  std::vector<double> p(c.seq);
  for (std::size_t b = 0; b < c.batch; ++b) {
    for (std::size_t h = 0; h < c.heads; ++h) {
      const auto at = [&](const std::vector<std::uint8_t>& x, std::size_t row, std::size_t d) {
        return static_cast<std::int32_t>(x[(b * c.seq + row) * c.ld + h * c.dim + d]);
      };
      for (std::size_t i = 0; i < c.seq; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        bool any = false;
        for (std::size_t j = 0; j < c.seq; ++j) {
          if (!c.valid[b * c.seq + j]) continue;
          any = true;
          std::int32_t acc = 0, key_sum = 0;
          for (std::size_t d = 0; d < c.dim; ++d) {
            acc += at(c.q, i, d) * (at(c.k, j, d) - 128);
            key_sum += at(c.k, j, d) - 128;
          }
          p[j] = static_cast<float>(acc - c.quant.q.zero_point * key_sum) * score_factor;
          mx = std::max(mx, p[j]);
        }
        if (!any) continue;
        double sum = 0;
        for (std::size_t j = 0; j < c.seq; ++j) sum += c.valid[b * c.seq + j] ? (p[j] = std::exp(p[j] - mx)) : (p[j] = 0);
        for (std::size_t d = 0; d < c.dim; ++d) {
          std::int32_t acc = 0;
          for (std::size_t j = 0; j < c.seq; ++j) {
            const float pj = static_cast<float>(p[j] / sum);
            const auto qp = static_cast<std::int32_t>(std::clamp(std::nearbyint(pj / s_p), 0.0f, 255.0f));
            acc += qp * (at(c.v, j, d) - 128);
          }
          out[(b * c.seq + i) * width + h * c.dim + d] = static_cast<float>(acc) * out_factor;
        }
      }
    }
  }
  return out;
}

void check_attention_level(sk::Isa level) {
  for (const auto& gemm : kernels_at(level, sk::qgemm_kernels())) {
    const auto& epilogue = best_at_most(level, sk::qepilogue_kernels());
    const auto& softmax = best_at_most(level, sk::exp_minus_max_sum_kernels());
    const auto& pack = best_at_most(level, sk::quantize_pack_kernels());
    for (std::size_t seq : {1, 6, 37, 128, 200}) {
      for (std::size_t dim : {8, 22, 64}) {
        for (std::size_t threads : {1, 2}) {
          const AttentionCase c = make_attention_case(seq, dim);
          const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
          std::vector<float> out(c.batch * seq * c.ld, 7.0f);
          sk::ThreadPool pool(threads);
          sk::attention_qu8(c.q.data(), c.k.data(), c.v.data(), c.ld, c.batch, seq, c.heads, dim, c.valid.data(), c.quant,
                            scale, out.data(), c.ld, &pool, gemm, epilogue, softmax, pack);
          const auto want = scheme_attention(c, scale);
          // The engine's exp and sum differ from double in the last bits, so a probability that lies on a
          // rounding boundary may take the neighbouring UINT8 step: each such step moves an output by
          // s_p * s_v * |v - 128| <= s_p * s_v * 127. Two steps per output are allowed (at most one was seen),
          // and nearly every output is exact.
          const float step = c.quant.v_scale * 127.0f / 255.0f;
          std::size_t exact = 0, total = 0;
          for (std::size_t row = 0; row < c.batch * seq; ++row) {
            for (std::size_t x = 0; x < c.heads * dim; ++x) {
              const float w = want[row * c.heads * dim + x], got = out[row * c.ld + x];
              INFO(gemm.name << " + " << epilogue.name << " + " << softmax.name << " + " << pack.name << ": seq " << seq
                             << " dim " << dim << " threads " << threads << " row " << row << " column " << x);
              REQUIRE(std::fabs(got - w) <= 2.0f * step + 1e-6f * std::fabs(w));
              exact += got == w;
              ++total;
            }
            for (std::size_t x = c.heads * dim; x < c.ld; ++x) REQUIRE(out[row * c.ld + x] == 7.0f);
          }
          INFO("seq " << seq << " dim " << dim << ": " << exact << " of " << total << " outputs exact");
          REQUIRE(exact >= total * 95 / 100);
        }
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("INT8 attention with a padding mask follows the scheme", "[kernels][attention]", isa::avx512vnni,
                   isa::avx512skx, isa::avx2, isa::scalar) {
  check_attention_level(TestType::level);
}

TEST_CASE("INT8 attention with every key masked gives zero rows", "[kernels][attention]") {
  AttentionCase c = make_attention_case(20, 8);
  std::fill(c.valid.begin(), c.valid.end(), 0);
  std::vector<float> out(c.batch * c.seq * c.ld, 5.0f);
  sk::attention_qu8(c.q.data(), c.k.data(), c.v.data(), c.ld, c.batch, c.seq, c.heads, c.dim, c.valid.data(), c.quant,
                    0.3f, out.data(), c.ld);
  for (std::size_t row = 0; row < c.batch * c.seq; ++row) {
    for (std::size_t x = 0; x < c.heads * c.dim; ++x) REQUIRE(out[row * c.ld + x] == 0.0f);
  }
}
