// The rules docs/format.md states beyond the byte layout, each checked against a file built for it: an INT8
// layer's input quantization, fp32 panel padding, zero-size tensors, input shapes, JSON nesting depth and
// numbers, sparrow.input_normalization, and the figures `sparrow inspect` prints (block sparsity).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <optional>

#include "format/input_normalization.h"
#include "format/reader.h"
#include "format/sample_file.h"

using namespace sparrow;
using namespace sparrow::format;

namespace {

std::optional<FormatErrc> rejection(const std::string& bytes) {
  try {
    File::parse(bytes, "spec.sparrow");
  } catch (const FormatError& e) {
    return e.code();
  }
  return std::nullopt;
}

std::string rejection_message(const std::string& bytes) {
  try {
    File::parse(bytes, "spec.sparrow");
  } catch (const FormatError& e) {
    return e.what();
  }
  return {};
}

// The sample file with its graph edited (its tensors unchanged).
std::string sample_with(const std::function<void(nlohmann::json&)>& edit) {
  auto s = testing::make_sample();
  nlohmann::json g = s.writer.graph();
  edit(g);
  s.writer.set_graph(g);
  return s.writer.serialize();
}

nlohmann::json& op_named(nlohmann::json& g, const std::string& name) {
  for (auto& op : g["ops"])
    if (op["name"] == name) return op;
  throw std::runtime_error("no op " + name);
}

std::uint64_t u64_at(const std::string& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}

// An image graph: input "x" f32 of `shape`, flatten, output "logits"; with `metadata`.
std::string image_file(const nlohmann::json& shape, const nlohmann::json& metadata, const std::string& dtype = "f32") {
  Writer w;
  w.set_graph({{"metadata", metadata},
               {"inputs", {{{"name", "x"}, {"dtype", dtype}, {"shape", shape}}}},
               {"outputs", {{{"name", "logits"}}}},
               {"ops", {{{"name", "flatten"}, {"op", "flatten"}, {"inputs", {"x"}}, {"outputs", {"logits"}}, {"attrs", {{"start_dim", 1}}}}}}});
  return w.serialize();
}

}  // namespace

TEST_CASE("spec: an INT8 layer reads a quantize op with its own input_scale and input_zero_point", "[format][spec]") {
  // The sample's quantize op q1 has scale 0.05 (a double); fc1's input_scale is the float 0.05f: equal as float32.
  CHECK_FALSE(rejection(sample_with([](auto&) {})));
  // 0.050000001 rounds to the same float32 as 0.05: still equal.
  CHECK_FALSE(rejection(sample_with([](auto& g) { op_named(g, "fc1")["attrs"]["input_scale"] = 0.050000001; })));
  const std::string scale = sample_with([](auto& g) { op_named(g, "fc1")["attrs"]["input_scale"] = 0.0500001; });
  CHECK(rejection(scale) == FormatErrc::bad_input_quant);
  CHECK(rejection_message(scale) ==
        "spec.sparrow: graph: op 'fc1': input_scale/input_zero_point (scale 0.0500001013, zero point 128) differ from "
        "quantize op 'q1' (scale 0.0500000007, zero point 128) that produces its input");
  CHECK(rejection(sample_with([](auto& g) { op_named(g, "fc2")["attrs"]["input_zero_point"] = 1; })) == FormatErrc::bad_input_quant);
  // Fed by a graph input, or by anything but a quantize op.
  const std::string direct = sample_with([](auto& g) { op_named(g, "fc1")["inputs"] = {"x"}; });
  CHECK(rejection(direct) == FormatErrc::bad_input_quant);
  CHECK(rejection_message(direct) == "spec.sparrow: graph: op 'fc1': an INT8 layer's input 'x' must be the output of a quantize op");
  CHECK(rejection(sample_with([](auto& g) { op_named(g, "fc2")["inputs"] = {"relu1.out"}; })) == FormatErrc::bad_input_quant);
}

TEST_CASE("spec: numbers are read as a double, then rounded to float32", "[format][spec]") {
  // A scale > 0 as a double whose float32 rounding is 0, or overflows: invalid.
  CHECK(rejection(sample_with([](auto& g) { op_named(g, "q1")["attrs"]["scale"] = 1e-46; })) == FormatErrc::bad_scale);
  CHECK(rejection(sample_with([](auto& g) { op_named(g, "q1")["attrs"]["scale"] = 3.5e38; })) == FormatErrc::bad_scale);
  // 2^128 - 2^104 is below the overflow bound (2^128 - 2^103) and rounds to FLT_MAX; the bound itself overflows.
  CHECK(float32_of(std::ldexp(1.0, 128) - std::ldexp(1.0, 104)) == std::numeric_limits<float>::max());
  CHECK_FALSE(float32_of(std::ldexp(1.0, 128) - std::ldexp(1.0, 103)));
  CHECK_FALSE(float32_of(std::nan("")));
  // Double rounding: the double 1 + 2^-24 lies halfway between two floats and goes to the even one, 1.0.
  const double halfway = nlohmann::json::parse("1.0000000596046448").get<double>();
  CHECK(halfway == 1.0 + std::ldexp(1.0, -24));
  CHECK(float32_of(halfway) == 1.0f);
  // Integer attributes are JSON integers.
  CHECK(rejection(sample_with([](auto& g) { op_named(g, "q1")["attrs"]["zero_point"] = 128.0; })) == FormatErrc::bad_graph);
}

TEST_CASE("spec: fp32 panel padding is +0.0", "[format][spec]") {
  // N = 3: channels 3..15 of the one panel are padding.
  const auto file = [](float pad) {
    std::vector<float> w(3 * 5, 0.5f);
    PackedWeights p = pack_fp32(w.data(), 3, 5);
    p.f32[2 * 16 + 7] = pad;  // input 2, channel 7
    Writer wr;
    const nlohmann::json attrs = testing::quant_linear_attrs(p, 1.0f, 0);
    wr.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 5}}}}}, {"outputs", {{{"name", "y"}}}},
                  {"ops", {{{"name", "fc"}, {"op", "linear"}, {"inputs", {"x"}}, {"outputs", {"y"}}, {"attrs", attrs},
                            {"weights", wr.add_weights("fc", p)}}}}});
    return wr.serialize();
  };
  CHECK_FALSE(rejection(file(0.0f)));
  CHECK(rejection(file(1.0f)) == FormatErrc::bad_weight);
  CHECK(rejection(file(-0.0f)) == FormatErrc::bad_weight);
  CHECK(rejection_message(file(1.0f)) ==
        "spec.sparrow: op 'fc': padding weight (channel 7 past out_features 3, input 2) is not +0.0");
}

TEST_CASE("spec: zero-size tensors take no bytes and keep the offset rule", "[format][spec]") {
  SECTION("a sparse_int8 layer without stored blocks") {
    const std::vector<std::int8_t> zeros(4 * 8, 0);
    PackedWeights p = pack_sparse_int8(zeros.data(), 4, 8);
    p.scale.assign(4, 1.0f);
    Writer w;
    const nlohmann::json attrs = testing::quant_linear_attrs(p, 0.5f, 2);
    w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 8}}}}}, {"outputs", {{{"name", "y"}}}},
                 {"ops", {testing::quantize_for(attrs, "x", "x.q"), {{"name", "fc"}, {"op", "linear"}, {"inputs", {"x.q"}},
                          {"outputs", {"y"}}, {"attrs", attrs}, {"weights", w.add_weights("fc", p)}}}}});
    const std::string bytes = w.serialize();
    const File f = File::parse(bytes);
    // Table order: row_ptr (5 u32 = 20 bytes at 0), block_k4 [0] at 64, block_w [0] at 64, scale at 64.
    CHECK(f.find("fc.block_k4")->dims == std::vector<std::uint64_t>{0});
    CHECK(f.find("fc.block_k4")->nbytes == 0);
    CHECK(f.find("fc.block_k4")->crc32 == 0);
    CHECK(f.find("fc.block_k4")->offset == 64);
    CHECK(f.find("fc.block_w")->offset == 64);
    CHECK(f.find("fc.scale")->offset == 64);
    CHECK(f.weights(f.graph()["ops"][1]).block_count == 0);
  }
  SECTION("a zero-size last tensor: data_size is its offset, the padding before it is in the data section") {
    Writer w;
    const std::vector<std::uint8_t> three = {1, 2, 3}, none;
    w.add_tensor("a", DType::u8, {3}, three);
    w.add_tensor("b", DType::u8, {2, 0}, none);
    w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 1}}}}}, {"outputs", {{{"name", "x"}}}}, {"ops", nlohmann::json::array()}});
    const std::string bytes = w.serialize();
    CHECK(u64_at(bytes, 48) == 64);  // data_size
    const File f = File::parse(bytes);
    CHECK(f.find("b")->offset == 64);
    CHECK(f.find("b")->nbytes == 0);
    // A nonzero byte in that padding is caught.
    std::string bad = bytes;
    bad[u64_at(bytes, 40) + 10] = 1;
    CHECK(rejection(bad) == FormatErrc::bad_padding);
  }
  SECTION("graph arrays that cannot be empty") {
    CHECK(rejection(image_file({-1, 0}, nlohmann::json::object())) == FormatErrc::bad_graph);
    Writer w;
    const std::vector<float> none;
    w.add_tensor("table", DType::f32, {0, 4}, none);
    w.set_graph({{"inputs", {{{"name", "ids"}, {"dtype", "i64"}, {"shape", {-1, -1}}}}}, {"outputs", {{{"name", "e"}}}},
                 {"ops", {{{"name", "emb"}, {"op", "embedding"}, {"inputs", {"ids"}}, {"outputs", {"e"}}, {"attrs", {{"indices", "ids"}}},
                           {"weights", {{"table", "table"}}}}}}});
    CHECK(rejection(w.serialize()) == FormatErrc::bad_weight);
  }
}

TEST_CASE("spec: JSON nesting is counted on the raw text, strings excepted, at most 64 levels", "[format][spec]") {
  // The top-level object is level 1 and metadata level 2: `arrays` nested arrays reach level 2 + arrays.
  const auto nested = [](int arrays, const std::string& text) {
    return image_file({-1, 1}, {{"deep", nlohmann::json::parse(std::string(arrays, '[') + std::string(arrays, ']'))},
                                {"text", text}});
  };
  CHECK_FALSE(rejection(nested(62, "")));
  CHECK(rejection(nested(63, "")) == FormatErrc::bad_json);
  CHECK(rejection_message(nested(63, "")) == "spec.sparrow: graph JSON nests deeper than 64 levels");
  // Brackets inside strings, also after an escaped quote, do not count.
  CHECK_FALSE(rejection(nested(62, std::string(200, '['))));
  CHECK_FALSE(rejection(nested(62, "\"" + std::string(200, '{'))));
  CHECK_FALSE(rejection(nested(62, "\\\\" + std::string(200, '['))));
}

TEST_CASE("spec: sparrow.input_normalization is checked against the graph", "[format][spec]") {
  const auto norm = [](const nlohmann::json& n, const nlohmann::json& shape = {-1, 3, 2, 2}, const std::string& dtype = "f32") {
    return image_file(shape, {{"sparrow.input_normalization", n}}, dtype);
  };
  const nlohmann::json good = {{"pixel_range", 255}, {"mean", {0.5, 0.25, 0.125}}, {"std", {0.2, 0.4, 0.8}}};
  CHECK_FALSE(rejection(norm(good)));
  const File f = File::parse(norm(good));
  const auto read = read_input_normalization(f.graph(), f.source());
  REQUIRE(read);
  CHECK(read->pixel_range == 255.0f);
  CHECK(read->mean == std::vector<float>{0.5f, 0.25f, 0.125f});
  CHECK(read->std == std::vector<float>{0.2f, 0.4f, 0.8f});
  CHECK_FALSE(read_input_normalization(File::parse(image_file({-1, 4}, nlohmann::json::object())).graph(), "x"));
  // One entry serves any input.
  CHECK_FALSE(rejection(norm({{"pixel_range", 1}, {"mean", {0.3}}, {"std", {0.3}}}, {-1, 784})));
  const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json n = good;
    edit(n);
    return rejection(norm(n));
  };
  CHECK(edited([](auto& n) { n.erase("pixel_range"); }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["pixel_range"] = 0; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["std"][1] = 0; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["std"][1] = -0.5; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["mean"][0] = 1e39; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["mean"][0] = "0.5"; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["std"] = {0.2, 0.4}; }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n["mean"] = nlohmann::json::array(); }) == FormatErrc::bad_graph);
  CHECK(edited([](auto& n) { n = 3; }) == FormatErrc::bad_graph);
  // Per-channel entries must match dim 1 of the single f32 input.
  CHECK(rejection(norm(good, {-1, 2, 2, 2})) == FormatErrc::bad_graph);
  CHECK(rejection_message(norm(good, {-1, 2, 2, 2})) ==
        "spec.sparrow: metadata.sparrow.input_normalization: 3 channel entries, but dim 1 of input 'x' is 2");
  CHECK(rejection(norm(good, {-1, 3, 2, 2}, "i64")) == FormatErrc::bad_graph);
}

TEST_CASE("spec: normalize_pixels divides by pixel_range, subtracts the mean, divides by std, in float32", "[format][spec]") {
  const InputNormalization n{255.0f, {0.2860f, 0.5f}, {0.3530f, 0.25f}};
  // Two items of 2 channels x 3 values.
  std::vector<float> pixels(12), out(12);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>(i * 23 % 256);
  normalize_pixels(n, pixels.data(), pixels.size(), 3, out.data());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    const std::size_t c = (i / 3) % 2;
    volatile float scaled = pixels[i] / 255.0f;
    volatile float centred = scaled - n.mean[c];
    CHECK(out[i] == centred / n.std[c]);
  }
  // The order matters: for some pixel value a reciprocal multiply gives another float.
  const InputNormalization one{255.0f, {0.2860f}, {0.3530f}};
  std::size_t differ = 0;
  for (int p = 0; p < 256; ++p) {
    const float pixel = static_cast<float>(p);
    float y = 0;
    normalize_pixels(one, &pixel, 1, 1, &y);
    volatile float scaled = pixel / 255.0f, centred = scaled - 0.2860f;
    CHECK(y == centred / 0.3530f);
    volatile float by_reciprocal = (pixel * (1.0f / 255.0f) - 0.2860f) * (1.0f / 0.3530f);
    differ += y != by_reciprocal;
  }
  CHECK(differ > 0);
}

TEST_CASE("spec: block sparsity is the share of all-zero 1x4 blocks, in every weight format", "[format][spec]") {
  std::mt19937 rng(3);
  const std::size_t n = 7, k = 10;  // K4 = 3; the last block of a row holds inputs 8 and 9 only
  const auto q = testing::random_block_weights(n, k, 0.5, rng);
  std::size_t zero_blocks = 0;
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t b = 0; b < 3; ++b) {
      bool all_zero = true;
      for (std::size_t j = b * 4; j < std::min(k, b * 4 + 4); ++j) all_zero = all_zero && q[row * k + j] == 0;
      zero_blocks += all_zero;
    }
  REQUIRE(zero_blocks > 0);
  REQUIRE(zero_blocks < n * 3);
  const double expected = static_cast<double>(zero_blocks) / static_cast<double>(n * 3);
  std::vector<float> f(q.begin(), q.end());
  for (std::size_t rows : {1, 2, 4}) {
    PackedWeights p = pack_sparse_int8(q.data(), n, k, rows);
    CHECK(block_sparsity(p.view()) == Approx(expected).epsilon(1e-12));  // computed as 1 - nonzero share
  }
  CHECK(block_sparsity(pack_dense_int8(q.data(), n, k).view()) == expected);
  CHECK(block_sparsity(pack_fp32(f.data(), n, k).view()) == expected);
}
