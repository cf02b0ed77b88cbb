// docs/format.md's "Arithmetic", "conv2d and max pooling" and "Running a classifier", checked on files built
// for each rule and run by the engine, against references written here from the spec's words (not from
// the engine's code). Bit-exact where the spec says so.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/classifier.h"
#include "format/sample_file.h"

using namespace sparrow;

namespace {

std::uint32_t bits(float f) {
  std::uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

std::shared_ptr<const engine::Model> load(const format::Writer& w) {
  return engine::Model::from_file(format::File::parse(w.serialize(), "spec.sparrow"));
}

std::vector<float> run(const format::Writer& w, std::size_t batch, const std::vector<float>& x, std::vector<std::size_t>* shape = nullptr) {
  engine::Engine e(load(w), {});
  const auto out = e.run(batch, 0, {x.data()});
  if (shape) *shape = out[0].shape;
  std::size_t count = 1;
  for (const auto d : out[0].shape) count *= d;
  return {out[0].data, out[0].data + count};
}

// The spec's quantize: a float32 division, round half to even, add the zero point, clamp.
std::int32_t quantize(float x, float scale, std::int32_t zero_point) {
  volatile float t = x / scale;
  const float v = std::nearbyint(t) + static_cast<float>(zero_point);
  return static_cast<std::int32_t>(std::min(255.0f, std::max(0.0f, v)));
}

// The spec's INT8 epilogue: c = sum - zp * row_sum (int32), f = s_x * s_w (float32), y = float(c) * f + b.
float epilogue(std::int32_t sum, std::int32_t row_sum, std::int32_t zp, float s_x, float s_w, float bias) {
  const std::int32_t c = sum - zp * row_sum;
  volatile float f = s_x * s_w;
  volatile float y = static_cast<float>(c) * f;
  return y + bias;
}

nlohmann::json layer_attrs(const format::PackedWeights& p, float s_x, int zp) { return testing::quant_linear_attrs(p, s_x, zp); }

}  // namespace

TEST_CASE("spec arithmetic: an INT8 linear is quantize by division, exact sums, then (s_x * s_w) * float(c) + b", "[engine][spec]") {
  std::mt19937 rng(17);
  const std::size_t n = 24, k = 37, m = 19;
  const float s_x = 0.0371f;
  const int zp = 113;
  const auto q = testing::random_block_weights(n, k, 0.4, rng);
  const auto s_w = testing::random_floats(n, 0.001f, 0.05f, rng);
  const auto bias = testing::random_floats(n, -1, 1, rng);
  auto x = testing::random_floats(m * k, -4, 5, rng);
  // Inputs on the rounding boundary of x / s_x, where division and a reciprocal multiply disagree.
  for (std::size_t i = 0; i < x.size(); i += 3) x[i] = (static_cast<float>(i % 200) - 100.5f) * s_x;
  std::size_t reciprocal_differs = 0, grouping_differs = 0;
  for (const float v : x) reciprocal_differs += quantize(v, s_x, zp) != static_cast<std::int32_t>(std::min(255.0f, std::max(0.0f, std::nearbyint(v * (1.0f / s_x)) + zp)));
  for (const auto format : {format::WeightFormat::sparse_int8, format::WeightFormat::dense_int8}) {
    INFO(format::weight_format_name(format));
    format::PackedWeights p = format == format::WeightFormat::sparse_int8 ? format::pack_sparse_int8(q.data(), n, k) : format::pack_dense_int8(q.data(), n, k);
    p.scale = s_w;
    p.bias = bias;
    format::Writer w;
    const nlohmann::json attrs = layer_attrs(p, s_x, zp);
    w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, k}}}}}, {"outputs", {{{"name", "y"}}}},
                 {"ops", {testing::quantize_for(attrs, "x", "x.q"), {{"name", "fc"}, {"op", "linear"}, {"inputs", {"x.q"}},
                          {"outputs", {"y"}}, {"attrs", attrs}, {"weights", w.add_weights("fc", p)}}}}});
    const auto y = run(w, m, x);
    std::size_t mismatches = 0;
    for (std::size_t t = 0; t < m; ++t)
      for (std::size_t c = 0; c < n; ++c) {
        std::int32_t sum = 0, row_sum = 0;
        for (std::size_t i = 0; i < k; ++i) {
          sum += quantize(x[t * k + i], s_x, zp) * q[c * k + i];
          row_sum += q[c * k + i];
        }
        const float want = epilogue(sum, row_sum, zp, s_x, s_w[c], bias[c]);
        volatile float other = s_x * static_cast<float>(sum - zp * row_sum);
        volatile float other_y = other * s_w[c];
        grouping_differs += bits(other_y + bias[c]) != bits(want);
        mismatches += bits(y[t * n + c]) != bits(want);
      }
    CHECK(mismatches == 0);
  }
  // The inputs tell the spec's choices from their alternatives.
  CHECK(reciprocal_differs > 0);
  CHECK(grouping_differs > 0);
}

TEST_CASE("INT8 panels: shared by linears that quantize one input alike, written straight by a linear whose readers all quantize it alike",
          "[engine][spec]") {
  // x feeds a, b, c and f. b quantizes x exactly as a does (Q, K and V of attention), so it reads a's panels;
  // c does not. Between a and b, d (INT8, on a's output, which is also a graph output) packs panels of its own,
  // which must not land on the ones b reads. g alone reads f's output, so f writes g's panels directly (the
  // FFN's up and down projections).
  std::mt19937 rng(29);
  const std::size_t k = 40, n = 24, m = 70;
  struct Layer {
    std::string name, input;
    std::size_t k;
    float s_x;
    int zp;
    std::vector<std::int8_t> q;
    std::vector<float> s_w, bias;
  };
  std::vector<Layer> layers = {{"a", "x", k, 0.031f, 120, {}, {}, {}},      {"d", "a.out", n, 0.011f, 131, {}, {}, {}},
                               {"b", "x", k, 0.031f, 120, {}, {}, {}},      {"c", "x", k, 0.047f, 90, {}, {}, {}},
                               {"f", "x", k, 0.023f, 100, {}, {}, {}},      {"g", "f.out", n, 0.019f, 77, {}, {}, {}}};
  format::Writer w;
  nlohmann::json ops = nlohmann::json::array();
  for (auto& l : layers) {
    l.q = testing::random_block_weights(n, l.k, 0.5, rng);
    l.s_w = testing::random_floats(n, 0.001f, 0.05f, rng);
    l.bias = testing::random_floats(n, -1, 1, rng);
    format::PackedWeights p = format::pack_sparse_int8(l.q.data(), n, l.k);
    p.scale = l.s_w;
    p.bias = l.bias;
    const nlohmann::json attrs = layer_attrs(p, l.s_x, l.zp);
    ops.push_back(testing::quantize_for(attrs, l.input, l.name + ".in.q"));
    ops.push_back({{"name", l.name}, {"op", "linear"}, {"inputs", {l.name + ".in.q"}}, {"outputs", {l.name + ".out"}},
                   {"attrs", attrs}, {"weights", w.add_weights(l.name, p)}});
  }
  const std::vector<std::string> outputs = {"a.out", "d.out", "b.out", "c.out", "g.out"};
  nlohmann::json graph_outputs = nlohmann::json::array();
  for (const auto& o : outputs) graph_outputs.push_back({{"name", o}});
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, k}}}}}, {"outputs", graph_outputs}, {"ops", ops}});
  const auto x = testing::random_floats(m * k, -4, 4, rng);
  const auto spec_linear = [&](const Layer& l, const std::vector<float>& in) {
    std::vector<float> y(m * n);
    for (std::size_t t = 0; t < m; ++t)
      for (std::size_t c = 0; c < n; ++c) {
        std::int32_t sum = 0, row_sum = 0;
        for (std::size_t i = 0; i < l.k; ++i) {
          sum += quantize(in[t * l.k + i], l.s_x, l.zp) * l.q[c * l.k + i];
          row_sum += l.q[c * l.k + i];
        }
        y[t * n + c] = epilogue(sum, row_sum, l.zp, l.s_x, l.s_w[c], l.bias[c]);
      }
    return y;
  };
  const auto ya = spec_linear(layers[0], x);
  const std::vector<std::vector<float>> want = {ya, spec_linear(layers[1], ya), spec_linear(layers[2], x),
                                                spec_linear(layers[3], x), spec_linear(layers[5], spec_linear(layers[4], x))};
  for (const std::size_t threads : {1, 2}) {
    engine::EngineOptions options;
    options.threads = threads;
    engine::Engine e(load(w), options);
    const auto out = e.run(m, 0, {x.data()});
    const engine::Plan& plan = e.plan(m, 0);
    // Ops in file order: a.q, a, d.q, d, b.q, b, c.q, c, f.q, f, g.q, g.
    CHECK(plan.panels_from == std::vector<std::size_t>{0, 1, 2, 3, 4, 1, 6, 7, 8, 9, 10, 11});
    CHECK(plan.input_panels == std::vector<bool>{false, false, false, false, false, false, false, false, false, false, false, true});
    for (std::size_t i = 0; i < plan.output_panels.size(); ++i) CHECK(plan.output_panels[i].has_value() == (i == 9));
    REQUIRE(out.size() == want.size());
    for (std::size_t o = 0; o < want.size(); ++o) {
      INFO("output " << out[o].name << ", " << threads << " threads");
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < m * n; ++i) mismatches += bits(out[o].data[i]) != bits(want[o][i]);
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("a residual add read only by a layer norm is folded into it: the norm of the sum, as the ops say", "[engine][spec]") {
  std::mt19937 rng(31);
  const std::size_t h = 40, m = 9;
  const auto w = testing::random_floats(h * h, -0.5f, 0.5f, rng), bias = testing::random_floats(h, -1, 1, rng);
  const auto gamma = testing::random_floats(h, 0.5f, 1.5f, rng), beta = testing::random_floats(h, -1, 1, rng);
  for (const bool sum_is_output : {false, true}) {
    INFO((sum_is_output ? "the sum is a graph output too: no fold" : "folded"));
    format::Writer f;
    format::PackedWeights p = format::pack_fp32(w.data(), h, h);
    p.bias = bias;
    f.add_tensor("ln.gamma", format::DType::f32, {h}, gamma);
    f.add_tensor("ln.beta", format::DType::f32, {h}, beta);
    nlohmann::json outputs = {{{"name", "y"}}};
    if (sum_is_output) outputs.push_back({{"name", "s"}});
    f.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, h}}}}},
                 {"outputs", outputs},
                 {"ops", {{{"name", "fc"}, {"op", "linear"}, {"inputs", {"x"}}, {"outputs", {"h"}},
                           {"attrs", layer_attrs(p, 1.0f, 0)}, {"weights", f.add_weights("fc", p)}},
                          {{"name", "residual"}, {"op", "add"}, {"inputs", {"h", "x"}}, {"outputs", {"s"}}},
                          {{"name", "ln"}, {"op", "layer_norm"}, {"inputs", {"s"}}, {"outputs", {"y"}}, {"attrs", {{"eps", 1e-5}}},
                           {"weights", {{"gamma", "ln.gamma"}, {"beta", "ln.beta"}}}}}}});
    const auto x = testing::random_floats(m * h, -2, 2, rng);
    engine::Engine e(load(f), {});
    const auto out = e.run(m, 0, {x.data()});
    CHECK(e.model().ops()[1].folded == !sum_is_output);
    for (std::size_t t = 0; t < m; ++t) {
      std::vector<double> sum(h);
      double mean = 0, var = 0;
      for (std::size_t c = 0; c < h; ++c) {
        double v = bias[c];
        for (std::size_t i = 0; i < h; ++i) v += double{w[c * h + i]} * x[t * h + i];
        sum[c] = v + x[t * h + c];
        mean += sum[c] / h;
      }
      for (std::size_t c = 0; c < h; ++c) var += (sum[c] - mean) * (sum[c] - mean) / h;
      for (std::size_t c = 0; c < h; ++c) {
        const double want = (sum[c] - mean) / std::sqrt(var + 1e-5) * gamma[c] + beta[c];
        INFO("token " << t << " channel " << c);
        CHECK(std::fabs(out[0].data[t * h + c] - want) <= 1e-5 * std::max(1.0, std::fabs(want)));
      }
    }
  }
}

TEST_CASE("spec arithmetic: JSON numbers become float32 through a double", "[engine][spec]") {
  // scale 1.0000000596046448 is the double 1 + 2^-24, which rounds (ties to even) to the float 1.0; rounding the
  // decimal straight to float32 would give 1 + 2^-23. 101.5 / 1.0 = 101.5 -> 102 (half to even);
  // 101.5 / (1 + 2^-23) -> 101.
  format::Writer w;
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 1}}}}}, {"outputs", {{{"name", "y"}}}},
               {"ops", {{{"name", "q"}, {"op", "quantize"}, {"inputs", {"x"}}, {"outputs", {"x.q"}},
                         {"attrs", {{"scale", 1.0000000596046448}, {"zero_point", 0}}}},
                        {{"name", "dq"}, {"op", "dequantize"}, {"inputs", {"x.q"}}, {"outputs", {"y"}},
                         {"attrs", {{"scale", 1.0}, {"zero_point", 0}}}}}}});
  REQUIRE(w.serialize().find("1.0000000596046448") != std::string::npos);
  CHECK(run(w, 1, {101.5f}) == std::vector<float>{102.0f});
  CHECK(quantize(101.5f, 1.0f + std::ldexp(1.0f, -23), 0) == 101);
}

TEST_CASE("spec conv2d: output size rounds down, INT8 padding is the zero point", "[engine][spec]") {
  std::mt19937 rng(23);
  const std::size_t c_in = 2, h = 5, wd = 6, kernel = 3, stride = 2, pad = 1, n = 5, k = c_in * kernel * kernel;
  const float s_x = 0.05f;
  const int zp = 77;
  const auto q = testing::random_block_weights(n, k, 0.3, rng);
  const auto s_w = testing::random_floats(n, 0.01f, 0.05f, rng);
  const auto x = testing::random_floats(c_in * h * wd, 0.5f, 6.0f, rng);  // positive: the zero point is far from every q_x
  auto p = format::pack_sparse_int8(q.data(), n, k);
  p.scale = s_w;
  format::Writer w;
  nlohmann::json attrs = layer_attrs(p, s_x, zp);
  attrs.update({{"in_channels", c_in}, {"out_channels", n}, {"kernel", {kernel, kernel}}, {"stride", {stride, stride}}, {"padding", {pad, pad}}});
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, c_in, h, wd}}}}}, {"outputs", {{{"name", "y"}}}},
               {"ops", {testing::quantize_for(attrs, "x", "x.q"), {{"name", "conv"}, {"op", "conv2d"}, {"inputs", {"x.q"}},
                        {"outputs", {"y"}}, {"attrs", attrs}, {"weights", w.add_weights("conv", p)}}}}});
  std::vector<std::size_t> shape;
  const auto y = run(w, 1, x, &shape);
  // H' = floor((5 + 2 - 3) / 2) + 1 = 3, W' = floor((6 + 2 - 3) / 2) + 1 = 3.
  REQUIRE(shape == std::vector<std::size_t>{1, n, 3, 3});
  std::size_t mismatches = 0, zero_padding_differs = 0;
  for (std::size_t o = 0; o < n; ++o)
    for (std::size_t oy = 0; oy < 3; ++oy)
      for (std::size_t ox = 0; ox < 3; ++ox) {
        std::int32_t sum = 0, sum_zero_pad = 0, row_sum = 0;
        for (std::size_t c = 0; c < c_in; ++c)
          for (std::size_t i = 0; i < kernel; ++i)
            for (std::size_t j = 0; j < kernel; ++j) {
              const long iy = static_cast<long>(oy * stride + i) - static_cast<long>(pad), ix = static_cast<long>(ox * stride + j) - static_cast<long>(pad);
              const bool inside = iy >= 0 && iy < static_cast<long>(h) && ix >= 0 && ix < static_cast<long>(wd);
              const std::int32_t qx = inside ? quantize(x[(c * h + iy) * wd + ix], s_x, zp) : zp;
              const std::int32_t wq = q[o * k + (c * kernel + i) * kernel + j];
              sum += qx * wq;
              sum_zero_pad += (inside ? qx : 0) * wq;
              row_sum += wq;
            }
        const float want = epilogue(sum, row_sum, zp, s_x, s_w[o], 0.0f);
        mismatches += bits(y[(o * 3 + oy) * 3 + ox]) != bits(want);
        zero_padding_differs += bits(epilogue(sum_zero_pad, row_sum, zp, s_x, s_w[o], 0.0f)) != bits(want);
      }
  CHECK(mismatches == 0);
  CHECK(zero_padding_differs > 0);
}

TEST_CASE("spec max pooling: no padding, windows inside the input, size rounded down", "[engine][spec]") {
  const std::size_t h = 7, wd = 5;
  std::vector<float> x(h * wd);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = -100.0f + static_cast<float>((i * 37) % 23);  // all negative
  for (const std::size_t kernel : {2, 3}) {
    INFO("kernel " << kernel);
    format::Writer w;
    w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 1, h, wd}}}}}, {"outputs", {{{"name", "y"}}}},
                 {"ops", {{{"name", "pool"}, {"op", "pooling"}, {"inputs", {"x"}}, {"outputs", {"y"}},
                           {"attrs", {{"mode", "max"}, {"kernel", {kernel, kernel}}, {"stride", {2, 2}}}}}}}});
    std::vector<std::size_t> shape;
    const auto y = run(w, 1, x, &shape);
    const std::size_t oh = (h - kernel) / 2 + 1, ow = (wd - kernel) / 2 + 1;
    REQUIRE(shape == std::vector<std::size_t>{1, 1, oh, ow});
    for (std::size_t oy = 0; oy < oh; ++oy)
      for (std::size_t ox = 0; ox < ow; ++ox) {
        float want = x[oy * 2 * wd + ox * 2];
        for (std::size_t i = 0; i < kernel; ++i)
          for (std::size_t j = 0; j < kernel; ++j) want = std::max(want, x[(oy * 2 + i) * wd + ox * 2 + j]);
        CHECK(y[oy * ow + ox] == want);
      }
  }
}

TEST_CASE("spec classifier: ids and mask go by input name, logits by output name", "[engine][spec]") {
  // Inputs in the order mask, ids: the names decide. Each embedding reads one input; logits of item b at
  // token 0 = T_ids[ids[0]] + T_mask[mask[0]] = [10 * id + 1000 * mask, 5 * mask].
  format::Writer w;
  std::vector<float> t_ids, t_mask;
  for (int r = 0; r < 5; ++r) t_ids.insert(t_ids.end(), {10.0f * static_cast<float>(r), 0.0f});
  for (int r = 0; r < 5; ++r) t_mask.insert(t_mask.end(), {1000.0f * static_cast<float>(r), 5.0f * static_cast<float>(r)});
  w.add_tensor("t_ids", format::DType::f32, {5, 2}, t_ids);
  w.add_tensor("t_mask", format::DType::f32, {5, 2}, t_mask);
  const nlohmann::json vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"};
  const auto graph = [&](const nlohmann::json& outputs) {
    return nlohmann::json{
        {"metadata", {{"sparrow.tokenizer", {{"type", "wordpiece"}, {"vocab", vocab}, {"do_lower_case", true}, {"strip_accents", true},
                                              {"tokenize_chinese_chars", true}, {"max_seq_length", 8}, {"pad_id", 0}, {"unk_id", 1},
                                              {"cls_id", 2}, {"sep_id", 3}}},
                      {"sparrow.labels", {"a", "b"}}}},
        {"inputs", {{{"name", "attention_mask"}, {"dtype", "i64"}, {"shape", {-1, -1}}}, {{"name", "tokens"}, {"dtype", "i64"}, {"shape", {-1, -1}}}}},
        {"outputs", outputs},
        {"ops", {{{"name", "e1"}, {"op", "embedding"}, {"inputs", {"tokens"}}, {"outputs", {"e1"}}, {"attrs", {{"indices", "ids"}}}, {"weights", {{"table", "t_ids"}}}},
                 {{"name", "e2"}, {"op", "embedding"}, {"inputs", {"attention_mask"}}, {"outputs", {"e2"}}, {"attrs", {{"indices", "ids"}}}, {"weights", {{"table", "t_mask"}}}},
                 {{"name", "sum"}, {"op", "add"}, {"inputs", {"e1", "e2"}}, {"outputs", {"s"}}},
                 {{"name", "first"}, {"op", "pooling"}, {"inputs", {"s"}}, {"outputs", {"logits"}}, {"attrs", {{"mode", "first_token"}}}},
                 {{"name", "scaled"}, {"op", "relu"}, {"inputs", {"e1"}}, {"outputs", {"other"}}}}}};
  };
  for (const auto& outputs : {nlohmann::json{{{"name", "other"}}, {{"name", "logits"}}}, nlohmann::json{{{"name", "logits"}}}}) {
    w.set_graph(graph(outputs));
    engine::Classifier c(load(w), {});
    const auto p = c.classify_texts({"hello"});
    REQUIRE(p.size() == 1);
    CHECK(p[0].logits == std::vector<float>{1020.0f, 5.0f});  // [CLS] = 2, mask 1
    CHECK(p[0].label == 0);
    // No output named probabilities: softmax in double of the logits.
    const double e = std::exp(5.0 - 1020.0);
    CHECK(p[0].probabilities == std::vector<float>{static_cast<float>(1.0 / (1.0 + e)), static_cast<float>(e / (1.0 + e))});
  }
  // Without an output named logits, the first output is read.
  w.set_graph(graph(nlohmann::json{{{"name", "other"}}}));
  engine::Classifier c(load(w), {});
  CHECK(c.classify_texts({"hello"})[0].logits.size() == 2);
}

TEST_CASE("spec classifier: raw pixels are normalized as the file says, per channel", "[engine][spec]") {
  const auto file = [](const nlohmann::json& metadata) {
    format::Writer w;
    w.set_graph({{"metadata", metadata}, {"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 2, 1, 3}}}}},
                 {"outputs", {{{"name", "logits"}}}},
                 {"ops", {{{"name", "flatten"}, {"op", "flatten"}, {"inputs", {"x"}}, {"outputs", {"logits"}}, {"attrs", {{"start_dim", 1}}}}}}});
    return load(w);
  };
  const std::vector<float> pixels = {0, 17, 255, 128, 64, 3, /* item 2 */ 9, 99, 199, 250, 1, 77};
  const float mean[2] = {0.2860f, 0.5f}, stdev[2] = {0.3530f, 0.25f};
  engine::Classifier with(file({{"sparrow.input_normalization", {{"pixel_range", 255}, {"mean", {0.2860, 0.5}}, {"std", {0.3530, 0.25}}}}}), {});
  const auto p = with.classify_pixels(pixels, 2);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 6; ++i) {
      volatile float scaled = pixels[b * 6 + i] / 255.0f;
      volatile float centred = scaled - mean[i / 3];
      CHECK(p[b].logits[i] == centred / stdev[i / 3]);
    }
  // A file without the key takes its input values as they are.
  engine::Classifier without(file(nlohmann::json::object()), {});
  CHECK(without.classify_pixels(pixels, 2)[1].logits == std::vector<float>(pixels.begin() + 6, pixels.end()));
}
