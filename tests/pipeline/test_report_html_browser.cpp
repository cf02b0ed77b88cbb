// report.html in a real browser: headless Chromium (Debian's chromium, third_party/setup.sh) parses the page
// into a DOM holding every plot as SVG, and draws it: a screenshot that is not blank, with the plots' line
// colour and the mask picture's black in it. SKIP where chromium is missing.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <regex>

#include "core/files.h"
#include "pipeline/report_html.h"
#include "support/run_command.h"
#include "support/skip.h"

using namespace sparrow;
using namespace sparrow::pipeline;
using nlohmann::json;

namespace {

size_t count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// A PNG decoded to 8-bit RGB (colour types 2 and 6, not interlaced: what Chromium writes), from the PNG
// specification: chunks, one zlib stream over the IDAT chunks, a filter byte per row.
struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

uint32_t big_endian(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

Image decode_png(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  Image image;
  int color_type = -1, bit_depth = 0, interlace = 0;
  std::string idat;
  for (size_t at = 8; at + 8 <= png.size();) {
    const uint32_t length = big_endian(png, at);
    const std::string type = png.substr(at + 4, 4);
    REQUIRE(at + 12 + length <= png.size());
    if (type == "IHDR") {
      image.width = big_endian(png, at + 8);
      image.height = big_endian(png, at + 12);
      bit_depth = uint8_t(png[at + 16]);
      color_type = uint8_t(png[at + 17]);
      interlace = uint8_t(png[at + 20]);
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, length);
    }
    at += 12 + length;
  }
  REQUIRE(bit_depth == 8);
  REQUIRE((color_type == 2 || color_type == 6));
  REQUIRE(interlace == 0);
  const size_t channels = color_type == 6 ? 4 : 3, stride = image.width * channels;
  std::vector<uint8_t> raw(image.height * (stride + 1));
  uLongf raw_size = raw.size();
  REQUIRE(::uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(raw_size == raw.size());
  std::vector<uint8_t> previous(stride, 0), row(stride);
  image.rgb.reserve(size_t(image.width) * image.height * 3);
  for (uint32_t y = 0; y < image.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
      int predictor = 0;
      if (filter == 1) predictor = a;
      else if (filter == 2) predictor = b;
      else if (filter == 3) predictor = (a + b) / 2;
      else if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[i] = uint8_t(in[i] + predictor);
    }
    for (uint32_t x = 0; x < image.width; ++x)
      for (size_t k = 0; k < 3; ++k) image.rgb.push_back(row[x * channels + k]);
    previous = row;
  }
  return image;
}

size_t pixels_near(const Image& image, int r, int g, int b, int tolerance) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < image.rgb.size(); i += 3)
    n += std::abs(image.rgb[i] - r) <= tolerance && std::abs(image.rgb[i + 1] - g) <= tolerance &&
         std::abs(image.rgb[i + 2] - b) <= tolerance;
  return n;
}

// A run's report: three epochs, one pruned layer whose mask the page draws, an engine check and gates.
json report() {
  return {{"recipe", "recipes/fashion_cnn90.yaml"},
          {"task", "classification"},
          {"model", {{"name", "cnn"}}},
          {"dataset", {{"name", "fashion_mnist"}, {"train_items", 3000}, {"test_items", 1000}}},
          {"epochs",
           {{{"epoch", 1.0}, {"loss", 2.0}, {"accuracy", 0.5}, {"lr", 0.05}, {"sparsity", 0.0}},
            {{"epoch", 2.0}, {"loss", 1.0}, {"accuracy", 0.7}, {"lr", 0.02}, {"sparsity", 0.45}},
            {{"epoch", 3.0}, {"loss", 0.5}, {"accuracy", 0.8}, {"lr", 0.01}, {"sparsity", 0.9}}}},
          {"layers", {{{"name", "fc1.weight"}, {"shape", {64, 784}}, {"sparsity", 0.75}, {"mask", "block4"}, {"quantized", false}}}},
          {"dense", {{"accuracy", 0.9}}},
          {"compressed", {{"accuracy", 0.8}, {"sparsity", 0.75}, {"quantized", false}}},
          {"engine",
           {{"accuracy", 0.79}, {"threads", 2}, {"batch", 32}, {"isa", "avx512vnni"}, {"speedup", 4.0},
            {"items_per_second", 4000.0}, {"baseline_items_per_second", 1000.0}, {"reliable", true}}},
          {"gates", {{{"name", "min_accuracy"}, {"threshold", 0.75}, {"value", 0.8}, {"passed", true}}}}};
}

}  // namespace

TEST_CASE("report.html in headless Chromium: the plots in the rendered DOM and on the screen", "[report_html][browser]") {
  if (testing::run_command("command -v chromium").exit_code != 0) {
    testing::skip("chromium is missing (Debian's chromium, third_party/setup.sh)");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / ("sparrow_report_browser_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The top-left 8 rows of the mask kept in 1x4 blocks, so the corner picture has black cells.
  LayerMask mask{"fc1.weight", "block4", 64, 784, std::vector<uint8_t>(64 * 784, 0)};
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 784; ++c) mask.kept[size_t(r) * 784 + c] = (c / 4) % 4 == r % 4;
  const std::string page = report_html(report(), "model: {name: cnn}\n", mask);
  write_file_atomic(dir / "report.html", page);
  // Root in a container needs --no-sandbox; a profile of its own keeps the test off the user's.
  const std::string chromium = "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                               "--user-data-dir=" + (dir / "profile").string() + " --window-size=1200,2400 ";
  const std::string url = "file://" + (dir / "report.html").string();

  const auto dom = testing::run_command(chromium + "--dump-dom " + url + " 2>/dev/null");
  REQUIRE(dom.exit_code == 0);
  // Every plot of the page is an SVG element in the browser's DOM, with its lines and bars.
  CHECK(count(dom.output, "<svg[ >]") == count(page, "<svg[ >]"));
  CHECK(count(dom.output, "<svg[ >]") == 8u);  // 2 outcome bar charts, 4 epoch plots, per-layer sparsity, the mask
  CHECK(count(dom.output, "<polyline") == 4u);
  CHECK(count(dom.output, "<section id=") == 7u);
  CHECK(dom.output.find("<script") == std::string::npos);

  const fs::path png = dir / "report.png";
  const auto shot = testing::run_command(chromium + "--screenshot=" + png.string() + " " + url);
  REQUIRE(shot.exit_code == 0);
  const Image image = decode_png(read_file(png, 64 << 20));
  CHECK(image.width == 1200u);
  CHECK(image.height == 2400u);
  const size_t all = size_t(image.width) * image.height, white = pixels_near(image, 255, 255, 255, 0);
  INFO("white " << white << " of " << all);
  CHECK(white < all * 97 / 100);  // not blank
  CHECK(white > all / 2);         // a page, not a black screen
  // The plots' first colour (#1f77b4: the epoch lines, the bars) and the mask's black cells are drawn.
  CHECK(pixels_near(image, 0x1f, 0x77, 0xb4, 8) > 5000u);
  CHECK(pixels_near(image, 0, 0, 0, 16) > 2000u);
  fs::remove_all(dir);
}
