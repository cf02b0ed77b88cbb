// Each fused epilogue equals the scalar reference bit for bit (same FP32 operations, same order), except
// GELU, which SIMD epilogues take from their vector GELU (within 2e-7 * max(1, |x|)): their requantized
// outputs are then exactly their FP32 outputs quantized by the scheme.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "kernels/isa_levels.h"
#include "kernels/random.h"

namespace sk = sparrow::kernels;
using sparrow::test::Rng;
using sparrow::test::kernels_at;
using sparrow::test::scalar_reference;
namespace isa = sparrow::test::isa;

// One case per level with a SIMD epilogue; the scalar one is the reference.
TEMPLATE_TEST_CASE("INT8 epilogues equal the scalar reference bit-exactly", "[kernels][epilogue]", isa::avx512skx,
                   isa::avx2) {
  for (const auto& kernel : kernels_at(TestType::level, sk::qepilogue_kernels())) {
    const sk::QEpilogueKernel& ref = scalar_reference(sk::qepilogue_kernels());
    for (int seed = 0; seed < 200; ++seed) {
      Rng rng(seed);
      // Panel widths of every kernel, and ragged ones the tests of other widths use.
      const std::size_t widths[] = {32, 64, 40, 8};
      const std::size_t mr = widths[rng.uniform_int(0, 3)], m = rng.uniform_int(1, static_cast<int>(mr));
      const std::size_t n = rng.uniform_int(1, 40), n_begin = rng.uniform_int(0, static_cast<int>(n) - 1);
      const std::size_t nc = rng.uniform_int(1, static_cast<int>(n - n_begin)), ldy = n + rng.uniform_int(0, 3);
      std::vector<std::int32_t> acc(nc * mr), row_sum(n);
      for (auto& a : acc) a = rng.chance(0.1) ? rng.uniform_int(-99000000, 99000000) : rng.uniform_int(-300000, 300000);
      for (auto& r : row_sum) r = rng.uniform_int(-200000, 200000) / 255;
      std::vector<float> w_scale(n), bias(n);
      for (auto& s : w_scale) s = rng.uniform(1e-4f, 1e-2f);
      for (auto& b : bias) b = rng.uniform(-3.0f, 3.0f);
      sk::QEpilogueParams p;
      p.x_scale = rng.uniform(1e-3f, 0.1f);
      p.x_zero_point = rng.uniform_int(0, 255);
      p.w_scale = w_scale.data();
      p.row_sum = row_sum.data();
      p.bias = rng.chance(0.7) ? bias.data() : nullptr;
      p.activation = static_cast<sk::Activation>(rng.uniform_int(0, 2));
      p.y = {rng.uniform(0.01f, 1.0f), rng.uniform_int(0, 255)};
      INFO(kernel.name << " seed " << seed << " m " << m << " mr " << mr << " n_begin " << n_begin << " nc " << nc);

      std::vector<float> want(m * ldy, 7.0f), got(m * ldy, 7.0f);
      ref.f32(m, mr, n_begin, nc, acc.data(), p, want.data(), ldy);
      kernel.f32(m, mr, n_begin, nc, acc.data(), p, got.data(), ldy);
      // The SIMD epilogues share one GELU lane for lane: the AVX-512 one gives the AVX2 one's bits.
      if (kernel.isa == sk::Isa::avx512skx) {
        for (const auto& avx2 : sk::qepilogue_kernels()) {
          if (avx2.isa != sk::Isa::avx2) continue;
          std::vector<float> narrow(m * ldy, 7.0f);
          avx2.f32(m, mr, n_begin, nc, acc.data(), p, narrow.data(), ldy);
          REQUIRE(std::memcmp(narrow.data(), got.data(), got.size() * sizeof(float)) == 0);
        }
      }
      if (p.activation == sk::Activation::gelu && kernel.isa != sk::Isa::scalar) {
        sk::QEpilogueParams linear = p;
        linear.activation = sk::Activation::none;
        std::vector<float> x(m * ldy, 7.0f);
        ref.f32(m, mr, n_begin, nc, acc.data(), linear, x.data(), ldy);
        for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(std::abs(got[i] - want[i]) <= 2e-7f * std::max(1.0f, std::abs(x[i])));
      } else {
        REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
      }

      // With a vector GELU the requantized outputs are the kernel's FP32 outputs quantized by the scheme (which
      // the FP32 check above holds to the reference); otherwise they are the reference's bytes.
      const bool vector_gelu = p.activation == sk::Activation::gelu && kernel.isa != sk::Isa::scalar;
      std::vector<std::uint8_t> want8(m * ldy, 7), got8(m * ldy, 7);
      ref.qu8(m, mr, n_begin, nc, acc.data(), p, want8.data(), ldy);
      kernel.qu8(m, mr, n_begin, nc, acc.data(), p, got8.data(), ldy);
      if (vector_gelu) {
        for (std::size_t t = 0; t < m; ++t)
          for (std::size_t c = n_begin; c < n_begin + nc; ++c)
            want8[t * ldy + c] = static_cast<std::uint8_t>(sparrow::quant::quantize_activation(got[t * ldy + c], p.y));
      }
      REQUIRE(want8 == got8);

      // Panel output: this tile's channels start at a multiple of 4 (as the drivers call it).
      const std::size_t n4 = n_begin / 4 * 4, nc4 = std::min(nc, n - n4);
      std::vector<std::uint8_t> want_panel(sk::panel_stride(n, mr), 7), got_panel(want_panel.size(), 7);
      ref.qu8_panel(m, mr, n4, nc4, acc.data(), p, want_panel.data());
      kernel.qu8_panel(m, mr, n4, nc4, acc.data(), p, got_panel.data());
      if (vector_gelu) {
        std::vector<float> y4(m * n, 0.0f);
        kernel.f32(m, mr, n4, nc4, acc.data(), p, y4.data(), n);
        for (std::size_t t = 0; t < m; ++t)
          for (std::size_t c = n4; c < n4 + nc4; ++c)
            want_panel[(c / 4) * mr * 4 + t * 4 + c % 4] =
                static_cast<std::uint8_t>(sparrow::quant::quantize_activation(y4[t * n + c], p.y));
      }
      REQUIRE(want_panel == got_panel);
    }
  }
}

