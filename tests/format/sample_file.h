// A small valid .sparrow file for the format tests: quantize -> sparse INT8 linear (K not a multiple of 4)
// -> relu -> quantize -> dense INT8 linear -> FP32 linear, plus the source weights to compare against.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "format/writer.h"

namespace sparrow::testing {

struct SampleLayer {
  std::size_t n = 0, k = 0;
  std::vector<std::int8_t> q;  // int8 layers
  std::vector<float> w;        // fp32 layer
  std::vector<float> scale, bias;
};

struct Sample {
  SampleLayer sparse, dense, fp32;
  format::Writer writer;
};

// Row-major [n][k] INT8 weights where about `sparsity` of the 1x4 blocks are zero.
inline std::vector<std::int8_t> random_block_weights(std::size_t n, std::size_t k, double sparsity, std::mt19937& rng) {
  std::vector<std::int8_t> w(n * k, 0);
  std::uniform_real_distribution<double> keep(0.0, 1.0);
  std::uniform_int_distribution<int> value(-127, 127);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t b = 0; b * 4 < k; ++b)
      if (keep(rng) >= sparsity)
        for (std::size_t j = 0; j < 4 && b * 4 + j < k; ++j) w[row * k + b * 4 + j] = static_cast<std::int8_t>(value(rng));
  return w;
}

inline std::vector<float> random_floats(std::size_t count, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = d(rng);
  return v;
}

inline nlohmann::json quant_linear_attrs(const format::PackedWeights& w, float input_scale, int input_zero_point) {
  nlohmann::json a = {{"weight_format", format::weight_format_name(w.format)},
                      {"out_features", w.n},
                      {"in_features", w.k}};
  if (w.format != format::WeightFormat::fp32) {
    a["input_scale"] = input_scale;
    a["input_zero_point"] = input_zero_point;
  }
  if (w.format == format::WeightFormat::sparse_int8) {
    a["block_rows"] = w.block_rows;
    a["block_k4_dtype"] = format::dtype_name(w.block_k4_dtype);
  }
  return a;
}

// The quantize op an INT8 layer with these attrs reads its input from: same scale and zero point.
inline nlohmann::json quantize_for(const nlohmann::json& layer_attrs, const std::string& in, const std::string& out) {
  return {{"name", out + ".quantize"}, {"op", "quantize"}, {"inputs", {in}}, {"outputs", {out}},
          {"attrs", {{"scale", layer_attrs.value("input_scale", 1.0)}, {"zero_point", layer_attrs.value("input_zero_point", 0)}}}};
}

inline Sample make_sample(std::uint32_t seed = 7) {
  std::mt19937 rng(seed);
  Sample s;
  s.sparse = {6, 10, random_block_weights(6, 10, 0.6, rng), {}, random_floats(6, 0.01f, 0.1f, rng), random_floats(6, -1, 1, rng)};
  s.dense = {5, 6, random_block_weights(5, 6, 0.0, rng), {}, random_floats(5, 0.01f, 0.1f, rng), random_floats(5, -1, 1, rng)};
  s.fp32 = {3, 5, {}, random_floats(15, -1, 1, rng), {}, random_floats(3, -1, 1, rng)};

  auto sparse = format::pack_sparse_int8(s.sparse.q.data(), s.sparse.n, s.sparse.k);
  sparse.scale = s.sparse.scale;
  sparse.bias = s.sparse.bias;
  auto dense = format::pack_dense_int8(s.dense.q.data(), s.dense.n, s.dense.k);
  dense.scale = s.dense.scale;
  dense.bias = s.dense.bias;
  auto fp32 = format::pack_fp32(s.fp32.w.data(), s.fp32.n, s.fp32.k);
  fp32.bias = s.fp32.bias;

  nlohmann::json ops = nlohmann::json::array();
  ops.push_back({{"name", "q1"}, {"op", "quantize"}, {"inputs", {"x"}}, {"outputs", {"x.q"}},
                 {"attrs", {{"scale", 0.05}, {"zero_point", 128}}}});
  ops.push_back({{"name", "fc1"}, {"op", "linear"}, {"inputs", {"x.q"}}, {"outputs", {"fc1.out"}},
                 {"attrs", quant_linear_attrs(sparse, 0.05f, 128)}, {"weights", s.writer.add_weights("fc1", sparse)}});
  ops.push_back({{"name", "relu1"}, {"op", "relu"}, {"inputs", {"fc1.out"}}, {"outputs", {"relu1.out"}}});
  ops.push_back({{"name", "q2"}, {"op", "quantize"}, {"inputs", {"relu1.out"}}, {"outputs", {"relu1.q"}},
                 {"attrs", {{"scale", 0.02}, {"zero_point", 0}}}});
  ops.push_back({{"name", "fc2"}, {"op", "linear"}, {"inputs", {"relu1.q"}}, {"outputs", {"fc2.out"}},
                 {"attrs", quant_linear_attrs(dense, 0.02f, 0)}, {"weights", s.writer.add_weights("fc2", dense)}});
  ops.push_back({{"name", "fc3"}, {"op", "linear"}, {"inputs", {"fc2.out"}}, {"outputs", {"logits"}},
                 {"attrs", quant_linear_attrs(fp32, 1.0f, 0)}, {"weights", s.writer.add_weights("fc3", fp32)}});
  s.writer.set_graph({{"metadata", {{"sparrow.task", "classification"}, {"sparrow.labels", {"a", "b", "c"}}}},
                      {"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 10}}}}},
                      {"outputs", {{{"name", "logits"}}}},
                      {"ops", ops}});
  return s;
}

}  // namespace sparrow::testing
