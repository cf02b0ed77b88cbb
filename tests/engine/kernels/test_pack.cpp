// Quantize-and-pack kernels: bytes identical to the scalar reference, and the panel layout of quant.h.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/thread_pool.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::kernels_at;
using sparrow::test::scalar_reference;
namespace isa = sparrow::test::isa;

// One case per level with a SIMD kernel; the scalar one is the reference.
TEMPLATE_TEST_CASE("quantize-and-pack row kernels equal the scalar reference", "[kernels][pack]", isa::avx2) {
  for (const auto& kernel : kernels_at(TestType::level, sk::quantize_pack_kernels())) {
    const sk::QuantizePackKernel& ref = scalar_reference(sk::quantize_pack_kernels());
    for (int seed = 0; seed < 300; ++seed) {
      Rng rng(seed);
      const std::size_t k = rng.uniform_int(1, 100), mr = rng.chance(0.5) ? 32 : 64;
      const sparrow::quant::ActivationParams q{rng.uniform(0.001f, 0.5f), rng.uniform_int(0, 255)};
      std::vector<float> x(k);
      for (auto& v : x) {
        const int kind = rng.uniform_int(0, 3);
        // Exact halves of the scale (rounding ties), far out of range, or ordinary values.
        v = kind == 0 ? (static_cast<float>(rng.uniform_int(-300, 300)) + 0.5f) * q.scale
            : kind == 1 ? rng.uniform(-1e6f, 1e6f)
                        : rng.uniform(-200.0f, 200.0f) * q.scale;
      }
      std::vector<std::uint8_t> want(sk::panel_stride(k, mr), 0xA5), got(want.size(), 0xA5);
      const std::size_t t = rng.uniform_int(0, static_cast<int>(mr) - 1);
      ref.fn(x.data(), k, q, mr, want.data() + t * 4);
      kernel.fn(x.data(), k, q, mr, got.data() + t * 4);
      INFO(kernel.name << " seed " << seed << " k " << k << " mr " << mr);
      REQUIRE(want == got);
    }
  }
}

TEST_CASE("qu8_pack_panels_f32 quantizes into the panel layout", "[kernels][pack]") {
  Rng rng(5);
  sk::ThreadPool two(2);
  for (std::size_t m : {1, 31, 32, 33, 70, 130}) {
    for (std::size_t k : {1, 3, 4, 9, 17, 64}) {
      const std::size_t mr = 32, ldx = k + 2;
      const sparrow::quant::ActivationParams q{0.05f, 100};
      std::vector<float> x(m * ldx);
      for (auto& v : x) v = rng.uniform(-8.0f, 8.0f);
      std::vector<std::uint8_t> panels(sk::panels_bytes(m, k, mr), 0xA5);
      // Panels split over two threads when there are several.
      sk::qu8_pack_panels_f32(x.data(), m, k, ldx, q, mr, panels.data(), m > mr ? &two : nullptr);
      for (std::size_t t = 0; t < sk::panel_count(m, mr) * mr; ++t) {
        for (std::size_t i = 0; i < sk::round_up_4(k); ++i) {
          const std::uint8_t want = t < m && i < k ? sparrow::quant::quantize_activation(x[t * ldx + i], q) : 0;
          INFO("m " << m << " k " << k << " token " << t << " input " << i);
          REQUIRE(panels[(t / mr) * sk::panel_stride(k, mr) + (i / 4) * mr * 4 + (t % mr) * 4 + i % 4] == want);
        }
      }
    }
  }
}

TEST_CASE("qu8_pack_panels_u8 places UINT8 rows in the panel layout", "[kernels][pack]") {
  Rng rng(6);
  sk::ThreadPool two(2);
  for (std::size_t m : {1, 31, 33, 70}) {
    for (std::size_t k : {1, 3, 4, 9, 64}) {
      const std::size_t mr = 32, ldx = k + 3;
      std::vector<std::uint8_t> x(m * ldx);
      for (auto& v : x) v = static_cast<std::uint8_t>(rng.uniform_int(0, 255));
      std::vector<std::uint8_t> panels(sk::panels_bytes(m, k, mr), 0xA5);
      sk::qu8_pack_panels_u8(x.data(), m, k, ldx, mr, panels.data(), m > mr ? &two : nullptr);
      for (std::size_t t = 0; t < sk::panel_count(m, mr) * mr; ++t) {
        for (std::size_t i = 0; i < sk::round_up_4(k); ++i) {
          const std::uint8_t want = t < m && i < k ? x[t * ldx + i] : 0;
          INFO("m " << m << " k " << k << " token " << t << " input " << i);
          REQUIRE(panels[(t / mr) * sk::panel_stride(k, mr) + (i / 4) * mr * 4 + (t % mr) * 4 + i % 4] == want);
        }
      }
    }
  }
}
