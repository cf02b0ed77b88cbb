// lib/quant's scalar formulas against values worked out by hand (DESIGN.md "One quantization scheme"). Where a
// value depends on FP32 rounding, the comment gives the FP32 quotient that decides it.
#include <catch2/catch.hpp>

#include <cfenv>
#include <cmath>

#include "quant/scheme.h"

using namespace sparrow;

TEST_CASE("weight scale: max |w| / 127, an all-zero row takes 1", "[quant]") {
  CHECK(quant::weight_scale(127.0f) == 1.0f);
  CHECK(quant::weight_scale(63.5f) == 0.5f);
  CHECK(quant::weight_scale(0.0f) == 1.0f);
  // An all-zero row quantizes to zeros with its scale 1.
  CHECK(quant::quantize_weight(0.0f, quant::weight_scale(0.0f)) == 0);
}

TEST_CASE("weight quantization rounds half to even and clamps to [-127, 127]", "[quant]") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  CHECK(quant::quantize_weight(2.5f, 1.0f) == 2);
  CHECK(quant::quantize_weight(3.5f, 1.0f) == 4);
  CHECK(quant::quantize_weight(-2.5f, 1.0f) == -2);
  CHECK(quant::quantize_weight(-0.5f, 1.0f) == 0);
  CHECK(quant::quantize_weight(31.75f, 0.5f) == 64);  // 63.5 -> 64
  CHECK(quant::quantize_weight(1000.0f, 1.0f) == 127);
  CHECK(quant::quantize_weight(-1000.0f, 1.0f) == -127);  // symmetric: never -128
}

TEST_CASE("activation parameters from an observed range", "[quant]") {
  SECTION("a range holding 0") {
    // scale = 4 / 255 = 0x1.010102p-6; 1 / scale = 63.7499962 -> 64.
    const auto q = quant::activation_params(-1.0f, 3.0f);
    CHECK(q.scale == 0x1.010102p-6f);
    CHECK(q.zero_point == 64);
    // scale = 2 / 255 = 0x1.010102p-7; 1 / scale = 127.499992 in FP32, just below the tie: 127, not 128.
    const auto sym = quant::activation_params(-1.0f, 1.0f);
    CHECK(sym.scale == 0x1.010102p-7f);
    CHECK(sym.zero_point == 127);
  }
  SECTION("a range not holding 0 is widened to hold it") {
    const auto positive = quant::activation_params(2.0f, 3.0f);  // [0, 3]
    CHECK(positive.scale == 3.0f / 255.0f);
    CHECK(positive.zero_point == 0);
    const auto negative = quant::activation_params(-3.0f, -2.0f);  // [-3, 0]: 3 / (3 / 255) = 255
    CHECK(negative.scale == 3.0f / 255.0f);
    CHECK(negative.zero_point == 255);
  }
  SECTION("an empty range takes scale 1 and zero point 0") {
    const auto empty = quant::activation_params(0.0f, 0.0f);
    CHECK(empty.scale == 1.0f);
    CHECK(empty.zero_point == 0);
    const auto point = quant::activation_params(5.0f, 5.0f);  // [0, 5]
    CHECK(point.scale == 5.0f / 255.0f);
    CHECK(point.zero_point == 0);
  }
}

TEST_CASE("activation quantization: ties to even, then the zero point, then the clamp", "[quant]") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  const quant::ActivationParams half{0.5f, 10};
  CHECK(quant::quantize_activation(0.25f, half) == 10);  // 0.5 -> 0
  CHECK(quant::quantize_activation(0.75f, half) == 12);  // 1.5 -> 2
  CHECK(quant::quantize_activation(1.25f, half) == 12);  // 2.5 -> 2
  CHECK(quant::quantize_activation(-2.5f, half) == 5);   // -5
  CHECK(quant::quantize_activation(-100.0f, half) == 0);
  CHECK(quant::quantize_activation(200.0f, half) == 255);
  CHECK(quant::quantize_activation(0.0f, {0.3f, 77}) == 77);
}

TEST_CASE("activation quantization divides in FP32: not by a reciprocal, not in double", "[quant]") {
  const quant::ActivationParams tenth{0.1f, 0};
  // 1.55f / 0.1f = 15.499999 in FP32 -> 15; 1.55f * (1 / 0.1f) = 15.5 -> 16 (a reciprocal would give 16).
  CHECK(quant::quantize_activation(1.55f, tenth) == 15);
  // 0.35f / 0.1f = 3.5 exactly in FP32 -> 4 (ties to even); in double the quotient is 3.49999988 -> 3.
  CHECK(quant::quantize_activation(0.35f, tenth) == 4);
  // 0.45f / 0.1f = 4.5 in FP32 -> 4; in double 4.50000011 -> 5.
  CHECK(quant::quantize_activation(0.45f, tenth) == 4);
}

TEST_CASE("an INT8 layer's output: integer correction, one conversion, scales multiplied first", "[quant]") {
  const float bias = 1.5f;
  // 1000 - 10 * 30 = 700; 700 * (0.5 * 0.25) = 87.5; + 1.5 = 89.
  CHECK(quant::dequantize_accumulator(1000, 10, 30, 0.5f, 0.25f, &bias) == 89.0f);
  CHECK(quant::dequantize_accumulator(1000, 10, 30, 0.5f, 0.25f, nullptr) == 87.5f);
  // 36 * (0.0137 * 0.00291) = 0x1.783b74p-10, while (36 * 0.0137) * 0.00291 would be 0x1.783b72p-10.
  CHECK(quant::dequantize_accumulator(36, 0, 0, 0.0137f, 0.00291f, nullptr) == 0x1.783b74p-10f);
  // The correction is exact in INT32: 2^24 + 3 - 2 = 2^24 + 1, converted once to 2^24; converting first would
  // give 2^24 + 4 - 2 = 2^24 + 2.
  CHECK(quant::dequantize_accumulator((1 << 24) + 3, 1, 2, 1.0f, 1.0f, nullptr) == static_cast<float>((1 << 24) + 1));
  // No bias keeps a -0 (an underflowing negative value); adding a bias of 0 would make it +0.
  const float zero = 0.0f;
  CHECK(std::signbit(quant::dequantize_accumulator(-1, 0, 0, 1e-30f, 1e-30f, nullptr)));
  CHECK_FALSE(std::signbit(quant::dequantize_accumulator(-1, 0, 0, 1e-30f, 1e-30f, &zero)));
}

TEST_CASE("requantization is activation quantization of the layer's output value", "[quant]") {
  // v = 89 from above; y = {0.5, 3}: 89 / 0.5 = 178, + 3 = 181.
  const float bias = 1.5f;
  const float v = quant::dequantize_accumulator(1000, 10, 30, 0.5f, 0.25f, &bias);
  CHECK(quant::quantize_activation(v, {0.5f, 3}) == 181);
  CHECK(quant::quantize_activation(v, {0.25f, 0}) == 255);  // 356: clamped
}
