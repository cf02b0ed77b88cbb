// The FP32 operators and the quantization helpers against straightforward double-precision math.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
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
  const sk::Conv2dShape s{3, 11, 9, 3, 2, 2, 1};  // channels, height, width, kernel h and w, stride, pad
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

// [C][H][W] -> [H][W][C], one image.
std::vector<float> to_channels_last(const std::vector<float>& x, std::size_t c, std::size_t h, std::size_t w) {
  std::vector<float> y(x.size());
  for (std::size_t ci = 0; ci < c; ++ci)
    for (std::size_t i = 0; i < h * w; ++i) y[i * c + ci] = x[ci * h * w + i];
  return y;
}

TEST_CASE("im2col reads a channels-last image as it reads the same image in NCHW", "[kernels][ops]") {
  Rng rng(11);
  sk::Conv2dShape s{5, 7, 6, 3, 3, 2, 1};
  const auto x = random_vector(rng, s.channels * s.height * s.width, -1, 1);
  std::vector<float> nchw(s.out_h() * s.out_w() * s.patch(), -99.0f), nhwc(nchw.size(), -98.0f);
  sk::im2col_f32(x.data(), s, nchw.data());
  s.channels_last = true;
  sk::im2col_f32(to_channels_last(x, s.channels, s.height, s.width).data(), s, nhwc.data());
  REQUIRE(nhwc == nchw);
}

TEST_CASE("im2col in (ky, kx, c) patch order holds the (c, ky, kx) columns permuted", "[kernels][ops]") {
  Rng rng(13);
  sk::Conv2dShape s{8, 6, 7, 3, 3, 2, 1};
  const auto x = random_vector(rng, s.channels * s.height * s.width, -1, 1);
  std::vector<float> chw(s.out_h() * s.out_w() * s.patch(), -99.0f), hwc(chw.size(), -98.0f);
  sk::im2col_f32(x.data(), s, chw.data());
  for (const bool channels_last : {false, true}) {
    s.channels_last = channels_last;
    s.channels_innermost = true;
    sk::im2col_f32(channels_last ? to_channels_last(x, s.channels, s.height, s.width).data() : x.data(), s, hwc.data());
    s.channels_innermost = false;
    for (std::size_t p = 0; p < s.out_h() * s.out_w(); ++p)
      for (std::size_t c = 0; c < s.channels; ++c)
        for (std::size_t kk = 0; kk < 9; ++kk) REQUIRE(hwc[p * s.patch() + kk * s.channels + c] == chw[p * s.patch() + c * 9 + kk]);
  }
}

// The INT8 convolution's panels against their definition, written out here: token t = (image, oy, ox) holds
// input i = (c, ky, kx) of its patch (i = (ky, kx, c) for a channels-innermost patch), quantized, the zero point where the patch leaves the image, at byte
// (t / mr) * panel + (i / 4) * mr * 4 + (t % mr) * 4 + i % 4; zeros past the patch and past the last token.
TEST_CASE("INT8 convolution panels, from FP32 or UINT8 images, hold each quantized patch where the GEMM reads it", "[kernels][ops]") {
  Rng rng(12);
  struct Case {
    std::size_t channels, height, width, kernel, stride, pad, batch, mr;
  };
  for (const Case c : {Case{1, 28, 28, 3, 1, 1, 2, 16}, Case{3, 9, 7, 3, 2, 1, 3, 8}, Case{5, 6, 5, 2, 1, 0, 2, 16},
                       Case{16, 5, 5, 1, 1, 0, 1, 4}, Case{7, 4, 6, 3, 3, 2, 2, 16}, Case{8, 7, 6, 3, 1, 1, 2, 16},
                       Case{12, 5, 9, 3, 2, 1, 3, 8}, Case{3, 13, 41, 7, 2, 3, 2, 16},
                       Case{20, 6, 7, 3, 1, 1, 2, 8}}) {
    for (const int variant : {0, 1, 2, 3}) {
      const bool channels_last = variant % 2 == 1, innermost = variant >= 2;
      if (innermost && c.channels % 4 != 0) continue;
      sk::Conv2dShape s{c.channels, c.height, c.width, c.kernel, c.kernel, c.stride, c.pad};
      s.channels_last = channels_last;
      s.channels_innermost = innermost;
      INFO("channels " << c.channels << " image " << c.height << "x" << c.width << " kernel " << c.kernel << " stride "
                       << c.stride << " pad " << c.pad << " mr " << c.mr << " channels_last " << channels_last
                       << " channels innermost " << innermost);
      const std::size_t image = c.channels * c.height * c.width, pixels = s.out_h() * s.out_w(), m = c.batch * pixels;
      const std::size_t k = s.patch(), k4 = (k + 3) / 4 * 4, panel = k4 * c.mr, panels = (m + c.mr - 1) / c.mr;
      const sparrow::quant::ActivationParams q{0.02f, 100};
      const auto x = random_vector(rng, c.batch * image, -2.5f, 3.0f);  // some values clamp at 0 and 255
      std::vector<float> stored(x.size());
      for (std::size_t b = 0; b < c.batch; ++b) {
        const std::vector<float> one(x.begin() + long(b * image), x.begin() + long((b + 1) * image));
        const auto laid = channels_last ? to_channels_last(one, c.channels, c.height, c.width) : one;
        std::copy(laid.begin(), laid.end(), stored.begin() + long(b * image));
      }
      // The definition, quantized (docs/format.md, "Arithmetic"), for the UINT8 form: images already quantized.
      const auto quantize = [&](float v) {
        return static_cast<std::uint8_t>(std::clamp(std::nearbyint(v / q.scale) + static_cast<float>(q.zero_point), 0.0f, 255.0f));
      };
      std::vector<std::uint8_t> padded(c.batch * s.padded_image_bytes(), 0xAB), out(panels * panel, 0xAB);
      sk::qu8_conv_panels_f32(stored.data(), c.batch, s, q, c.mr, padded.data(), out.data());
      std::vector<std::uint8_t> stored_u8(stored.size()), padded_u8(padded.size(), 0xCD), out_u8(out.size(), 0xCD);
      std::transform(stored.begin(), stored.end(), stored_u8.begin(), quantize);
      sk::qu8_conv_panels_u8(stored_u8.data(), c.batch, s, static_cast<std::uint8_t>(q.zero_point), c.mr, padded_u8.data(), out_u8.data());
      std::vector<std::uint8_t> want(out.size(), 0);
      for (std::size_t t = 0; t < m; ++t) {
        const std::size_t b = t / pixels, oy = t % pixels / s.out_w(), ox = t % pixels % s.out_w();
        for (std::size_t i = 0; i < k; ++i) {
          const std::size_t kk = innermost ? i / c.channels : i % (c.kernel * c.kernel);
          const std::size_t ci = innermost ? i % c.channels : i / (c.kernel * c.kernel), ky = kk / c.kernel, kx = kk % c.kernel;
          const long iy = long(oy * c.stride + ky) - long(c.pad), ix = long(ox * c.stride + kx) - long(c.pad);
          const bool inside = iy >= 0 && ix >= 0 && iy < long(c.height) && ix < long(c.width);
          const float v = inside ? x[b * image + (ci * c.height + std::size_t(iy)) * c.width + std::size_t(ix)] : 0.0f;
          want[t / c.mr * panel + i / 4 * c.mr * 4 + t % c.mr * 4 + i % 4] = quantize(v);
        }
      }
      REQUIRE(out == want);
      REQUIRE(out_u8 == want);
    }
  }
}

TEST_CASE("max pooling of a channels-last image, FP32 or UINT8, is NCHW max pooling, transposed", "[kernels][ops]") {
  Rng rng(13);
  const sk::Pool2dShape s{19, 9, 8, 3, 2, 1};  // channels, height, width, kernel, stride, pad
  const auto x = random_vector(rng, s.channels * s.height * s.width, -1, 1);
  std::vector<float> nchw(s.channels * s.out_h() * s.out_w()), nhwc(nchw.size());
  sk::max_pool2d_f32(x.data(), s, nchw.data());
  sk::max_pool2d_nhwc_f32(to_channels_last(x, s.channels, s.height, s.width).data(), s, nhwc.data());
  REQUIRE(nhwc == to_channels_last(nchw, s.channels, s.out_h(), s.out_w()));
  // Bytes: the pooled bytes are the bytes' maxima, 0 and 255 included.
  std::vector<float> levels(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) levels[i] = std::floor((x[i] + 1.0f) * 127.999f);
  std::vector<std::uint8_t> bytes(x.size()), pooled(nchw.size());
  const auto levels_last = to_channels_last(levels, s.channels, s.height, s.width);
  std::transform(levels_last.begin(), levels_last.end(), bytes.begin(), [](float v) { return static_cast<std::uint8_t>(v); });
  sk::max_pool2d_nhwc_u8(bytes.data(), s, pooled.data());
  sk::max_pool2d_f32(levels.data(), s, nchw.data());
  const auto want = to_channels_last(nchw, s.channels, s.out_h(), s.out_w());
  for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(pooled[i] == static_cast<std::uint8_t>(want[i]));
}

TEST_CASE("max pooling skips padding", "[kernels][ops]") {
  Rng rng(3);
  const sk::Pool2dShape s{2, 7, 6, 3, 2, 1};  // channels, height, width, kernel, stride, pad
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

TEST_CASE("global average pooling, NCHW or channels-last, is each channel's mean", "[kernels][ops]") {
  Rng rng(4);
  const std::size_t channels = 19, height = 7, width = 5, pixels = height * width;
  const auto x = random_vector(rng, channels * pixels, -2, 3);
  std::vector<float> nchw(channels), nhwc(channels);
  sk::global_avg_pool_f32(x.data(), pixels, channels, nchw.data());
  sk::global_avg_pool_nhwc_f32(to_channels_last(x, channels, height, width).data(), pixels, channels, nhwc.data());
  for (std::size_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (std::size_t p = 0; p < pixels; ++p) sum += x[c * pixels + p];
    REQUIRE(std::abs(nchw[c] - sum / pixels) <= 1e-6);
    REQUIRE(std::abs(nhwc[c] - sum / pixels) <= 1e-6);
  }
}
