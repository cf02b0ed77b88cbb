// Export round trip: lower -> pack -> write -> read gives back every weight, scale, bias, table and
// attribute of the source model, in the trainer's quantization; and the lowered graph computes what the
// model computes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <tuple>

#include "compress/masks/magnitude_mask.h"
#include "compress/quant/quant_scheme.h"
#include "core/errors.h"
#include "core/files.h"
#include "export/exporter.h"
#include "export/interpret.h"
#include "format/reader.h"
#include "models/bert/bert.h"
#include "models/checkpoint.h"
#include "models/cnn.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::exporter;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<models::Cnn> small_cnn() {
  testing::SmallCnn s;
  s.block_pruned = {"fc1.weight"};
  s.zero_fraction = 0.8;
  return testing::small_cnn(s);
}

// structurally_pruned: the shapes structured pruning leaves (heads removed in one layer, a narrower FFN in
// the other), as a saved config states them.
std::shared_ptr<models::bert::BertForSequenceClassification> tiny_bert(bool structurally_pruned = false) {
  testing::TinyBert s;
  if (structurally_pruned) {
    s.config.num_attention_heads = 4;  // head size 4
    s.config.pruned_heads = {{0, {1, 3}}};
    s.config.intermediate_sizes = {32, 20};
  }
  return testing::tiny_bert(s);
}

data::Batch image_batch() { return {torch::randn({5, 1, 8, 8}), {}, torch::zeros({5}, torch::kInt64)}; }

data::Batch text_batch() {
  auto ids = torch::randint(5, 40, {3, 8}, torch::kInt64);
  auto mask = torch::ones({3, 8}, torch::kInt64);
  mask.index_put_({1, torch::indexing::Slice(5)}, 0);
  return {ids, mask, torch::zeros({3}, torch::kInt64)};
}

const nlohmann::json* find_op(const format::File& f, const std::string& name) {
  for (const auto& op : f.graph()["ops"])
    if (op["name"] == name) return &op;
  return nullptr;
}

template <class T>
std::vector<T> values(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// Every layer of the file against the source: INT8 layers against the trainer's quantization of the
// weight, FP32 layers bit for bit; scales, bias, quantize attrs; every other weight tensor byte for byte.
void check_file_matches(const format::File& f, models::Classifier& model, const ExportOptions& options) {
  const LoweredGraph graph = lower_model(model);
  for (const auto& op : graph.ops) {
    INFO("op " << op.name);
    const nlohmann::json* stored = find_op(f, op.name);
    REQUIRE(stored);
    CHECK((*stored)["op"] == op.op);
    for (const auto& [key, value] : op.attrs.items()) CHECK((*stored)["attrs"][key] == value);
    if (!op.is_layer()) {
      for (const auto& [role, t] : op.weights) {
        const format::TensorInfo* info = f.find((*stored)["weights"][role].get<std::string>());
        REQUIRE(info);
        CHECK(std::vector<std::uint64_t>(t.sizes().begin(), t.sizes().end()) == info->dims);
        CHECK(std::vector<float>(f.data_as<float>(*info), f.data_as<float>(*info) + t.numel()) == values<float>(t));
      }
      continue;
    }
    const format::WeightsView v = f.weights(*stored);
    const torch::Tensor w = op.weights.at("weight");
    CHECK(std::vector<float>(v.bias, v.bias + v.n) == values<float>(op.weights.at("bias")));
    const auto q = options.activations.find(op.name);
    if (q == options.activations.end()) {
      CHECK(v.format == format::WeightFormat::fp32);
      CHECK(format::unpack_fp32(v) == values<float>(w));
      continue;
    }
    CHECK(v.format != format::WeightFormat::fp32);
    const auto scales = compress::weight_scales(w);
    CHECK(format::unpack_int8(v) == values<std::int8_t>(compress::quantize_weight(w, scales)));
    CHECK(std::vector<float>(v.scale, v.scale + v.n) == values<float>(scales));
    CHECK((*stored)["attrs"]["input_scale"].get<float>() == q->second.scale);
    CHECK((*stored)["attrs"]["input_zero_point"] == q->second.zero_point);
    const nlohmann::json* quantize = find_op(f, op.name + ".quantize");
    REQUIRE(quantize);
    CHECK((*quantize)["attrs"]["scale"].get<float>() == q->second.scale);
    CHECK((*stored)["inputs"][0] == (*quantize)["outputs"][0]);
  }
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("sparrow_export_" + std::to_string(::getpid()) + "_" + name);
}

// A graph of one linear layer `name` over `weight` [N, K] with a zero bias, input "x" [-1, K], output "y".
LoweredGraph one_linear(const std::string& name, const torch::Tensor& weight) {
  const std::int64_t n = weight.size(0), k = weight.size(1);
  LoweredGraph graph;
  graph.inputs = {{"x", "f32", {-1, k}}};
  LoweredOp op;
  op.name = name;
  op.op = "linear";
  op.inputs = {"x"};
  op.output = "y";
  op.attrs = {{"out_features", n}, {"in_features", k}};
  op.weights = {{"weight", weight}, {"bias", torch::zeros({n})}};
  graph.ops = {op};
  graph.outputs = {"y"};
  return graph;
}

}  // namespace

TEST_CASE("the lowered CNN and BERT compute what the models compute", "[export]") {
  torch::NoGradGuard g;
  auto cnn = small_cnn();
  const auto images = image_batch();
  CHECK(torch::allclose(interpret(lower_model(*cnn), images).at("logits"), cnn->forward(images), 1e-5, 1e-6));
  auto bert = tiny_bert();
  const auto texts = text_batch();
  const auto out = interpret(lower_model(*bert), texts);
  CHECK(torch::allclose(out.at("logits"), bert->forward(texts), 1e-5, 1e-6));
  CHECK(torch::allclose(out.at("probabilities").sum(1), torch::ones({3})));
  auto pruned = tiny_bert(/*structurally_pruned=*/true);
  const auto lowered = lower_model(*pruned);
  CHECK(torch::allclose(interpret(lowered, texts).at("logits"), pruned->forward(texts), 1e-5, 1e-6));
  const auto heads = [&](const std::string& op) {
    for (const auto& o : lowered.ops)
      if (o.name == op) return o.attrs.at("heads").get<std::int64_t>();
    return std::int64_t{-1};
  };
  CHECK(heads("bert.encoder.layer.0.attention.self") == 2);
  CHECK(heads("bert.encoder.layer.1.attention.self") == 4);
}

TEST_CASE("CNN export round trip: sparse fc1, dense INT8 convs, FP32 head", "[export]") {
  auto cnn = small_cnn();
  const LoweredGraph graph = lower_model(*cnn);
  ExportOptions options;
  options.activations = calibrate(graph, {image_batch()});
  options.activations.erase("fc2");  // the classifier stays FP32
  options.quantization_source = "calibration";
  options.labels = {"a", "b", "c"};
  options.recipe_sha256 = "abc";
  options.trainer_accuracy = 0.875;
  REQUIRE(options.activations.size() == 3);
  const auto path = temp_path("cnn.sparrow");
  const ExportSummary summary = export_model(*cnn, path, options);
  CHECK(summary.file_bytes == fs::file_size(path));
  const format::File f = format::File::open(path);
  check_file_matches(f, *cnn, options);
  CHECK(f.weights(*find_op(f, "fc1")).format == format::WeightFormat::sparse_int8);
  CHECK(f.weights(*find_op(f, "conv1")).format == format::WeightFormat::dense_int8);
  CHECK(f.weights(*find_op(f, "fc2")).format == format::WeightFormat::fp32);
  const auto& meta = f.metadata();
  CHECK(meta["sparrow.labels"] == nlohmann::json({"a", "b", "c"}));
  CHECK(meta["sparrow.model"] == "cnn");
  CHECK(meta["sparrow.quantization"] == "calibration");
  CHECK(meta["sparrow.recipe_sha256"] == "abc");
  CHECK(meta["sparrow.trainer_accuracy"] == 0.875);
  CHECK(meta["sparrow.image"]["height"] == 8);
  for (const auto& layer : summary.layers)
    if (layer.name == "fc1") CHECK(layer.block_sparsity > 0.6);
  fs::remove(path);
}

TEST_CASE("BERT export round trip: every encoder linear INT8, tables, norms and tokenizer intact", "[export]") {
  auto bert = tiny_bert();
  const LoweredGraph graph = lower_model(*bert);
  ExportOptions options;
  options.activations = calibrate(graph, {text_batch()});
  CHECK(options.activations.size() == 12);  // 6 linears x 2 layers; pooler and classifier are not prunable
  const format::File f = format::File::parse(build_file(graph, options).serialize(), "bert.sparrow");
  check_file_matches(f, *bert, options);
  const auto& tok = f.metadata()["sparrow.tokenizer"];
  CHECK(tok["vocab"] == bert->tokenizer()->vocab());
  CHECK(tok["max_seq_length"] == 8);
  CHECK(f.metadata()["sparrow.labels"] == nlohmann::json({"ham", "spam"}));
  const nlohmann::json* attention = find_op(f, "bert.encoder.layer.1.attention.self");
  REQUIRE(attention);
  CHECK((*attention)["attrs"]["heads"] == 2);
  CHECK((*attention)["inputs"][3] == "attention_mask");
}

TEST_CASE("export_checkpoint takes quantization.json from the checkpoint folder", "[export]") {
  auto cnn = small_cnn();
  const auto dir = temp_path("ckpt");
  models::save_checkpoint(dir, *cnn, {{"recipe_sha256", "feed"}});
  write_file_atomic(dir / "quantization.json",
                    R"({"fc1": {"scale": 0.02, "zero_point": 0, "lo": 0.0, "hi": 5.1}, "conv2": {"scale": 0.01, "zero_point": 3, "lo": -0.03, "hi": 2.5}})");
  const auto path = temp_path("ckpt.sparrow");
  export_checkpoint(dir, path, {});
  const format::File f = format::File::open(path);
  CHECK(f.metadata()["sparrow.quantization"] == "quantization.json");
  CHECK(f.metadata()["sparrow.recipe_sha256"] == "feed");
  CHECK((*find_op(f, "conv2"))["attrs"]["input_zero_point"] == 3);
  CHECK((*find_op(f, "fc1.quantize"))["attrs"]["scale"].get<float>() == 0.02f);
  CHECK(f.weights(*find_op(f, "conv1")).format == format::WeightFormat::fp32);

  write_file_atomic(dir / "quantization.json", R"({"fc9": {"scale": 0.02, "zero_point": 0, "lo": 0, "hi": 1}})");
  CHECK_THROWS_AS(export_checkpoint(dir, path, {}), BadInput);
  write_file_atomic(dir / "quantization.json", R"({"fc1": {"scale": -1, "zero_point": 0, "lo": 0, "hi": 1}})");
  CHECK_THROWS_AS(export_checkpoint(dir, path, {}), BadInput);
  fs::remove_all(dir);
  fs::remove(path);
}

TEST_CASE("90 % block-sparse INT8 layers against their dense FP32 bytes", "[export]") {
  // Per stored block: a 4-byte weight word and a 1-byte (K <= 1024) or 2-byte column index; per row: a row
  // pointer, a scale and the bias (12 bytes). Dense FP32: 4 K + 4 bytes per row.
  // BERT-base FFN shapes, then the small BERT's (hidden 128, FFN 512).
  for (const auto& [n, k, index_bytes, max_ratio] :
       {std::tuple{3072, 768, 1, 1 / 27.0}, std::tuple{768, 3072, 2, 1 / 25.0}, std::tuple{128, 512, 1, 1 / 25.0},
        std::tuple{512, 128, 1, 1 / 17.0}}) {
    INFO("N " << n << " K " << k);
    torch::manual_seed(4);
    auto w = torch::randn({n, k});
    const auto keep = (torch::rand({n, k / 4, 1}) >= 0.9).expand({-1, -1, 4}).reshape({n, k});
    const LoweredGraph graph = one_linear("ffn", w * keep);
    ExportOptions options;
    options.activations["ffn"] = activation_quant(-1, 1);
    ExportSummary summary;
    const format::File f = format::File::parse(build_file(graph, options, &summary).serialize());
    REQUIRE(summary.layers.size() == 1);
    const auto& layer = summary.layers[0];
    CHECK(layer.format == format::WeightFormat::sparse_int8);
    const format::WeightsView v = f.weights(*find_op(f, "ffn"));
    CHECK(format::dtype_size(v.block_k4_dtype) == static_cast<std::size_t>(index_bytes));
    const std::uint64_t blocks = keep.sum().item<std::int64_t>() / 4;
    CHECK(layer.stored_bytes == (n + 1) * 4 + blocks * (4 + index_bytes) + n * 8);
    CHECK(layer.dense_fp32_bytes == static_cast<std::uint64_t>(n) * k * 4 + n * 4);
    const double ratio = static_cast<double>(layer.stored_bytes) / static_cast<double>(layer.dense_fp32_bytes);
    WARN("90 % block4 INT8 at " << n << "x" << k << ": " << layer.stored_bytes << " of " << layer.dense_fp32_bytes
                                << " dense FP32 bytes (1/" << 1.0 / ratio << ")");
    CHECK(ratio < max_ratio);
  }
}

TEST_CASE("the exporter packs each sparse layer in the largest R x 4 tiles its mask allows", "[export]") {
  // A linear [N = 30, K = 70] (ragged: 30 = 7 x 4 + 2 rows, 70 = 17 x 4 + 2 inputs) masked by magnitude at
  // 80 % with each mask kind; the tile height read from the file, the weights exact.
  for (const auto& [mask, rows] : {std::pair{"[4,4]", 4u}, {"[2,4]", 2u}, {"block4", 1u}, {"unstructured", 1u}}) {
    INFO("mask " << mask);
    torch::manual_seed(6);
    const auto raw = torch::randn({30, 70});
    const double sparsity = std::string(mask) == "unstructured" ? 0.97 : 0.8;  // unstructured: most 1x4 blocks empty
    const auto w = raw * compress::magnitude_mask(raw, sparsity, recipe::MaskKind::parse(mask));
    const LoweredGraph graph = one_linear("fc", w);
    ExportOptions options;
    options.activations["fc"] = activation_quant(-1, 1);
    ExportSummary summary;
    const format::File f = format::File::parse(build_file(graph, options, &summary).serialize());
    REQUIRE(summary.layers.size() == 1);
    CHECK(summary.layers[0].format == format::WeightFormat::sparse_int8);
    CHECK(summary.layers[0].block_rows == rows);
    const nlohmann::json& stored = *find_op(f, "fc");
    CHECK(stored["attrs"]["block_rows"] == rows);
    const format::WeightsView v = f.weights(stored);
    CHECK(v.block_rows == rows);
    const auto q = compress::quantize_weight(w, compress::weight_scales(w));
    CHECK(format::unpack_int8(v) == values<std::int8_t>(q));
    // docs/format.md "Layer size", counted here from the quantized weight: T = ceil(30 / R) tile rows, a tile
    // for each (tile row, 1x4 input block) holding a nonzero weight, a 1-byte index (K4 = 18), then scale and bias.
    const auto qa = q.accessor<std::int8_t, 2>();
    const std::int64_t r_tile = rows, tile_rows = (30 + r_tile - 1) / r_tile;
    std::int64_t tiles = 0;
    for (std::int64_t t = 0; t < tile_rows; ++t)
      for (std::int64_t b = 0; b < 18; ++b) {
        bool any = false;
        for (std::int64_t r = t * r_tile; r < std::min<std::int64_t>(30, (t + 1) * r_tile); ++r)
          for (std::int64_t c = 4 * b; c < std::min<std::int64_t>(70, 4 * b + 4); ++c) any = any || qa[r][c] != 0;
        tiles += any;
      }
    CHECK(summary.layers[0].stored_bytes ==
          static_cast<std::uint64_t>((tile_rows + 1) * 4 + tiles * (1 + 4 * r_tile) + 30 * 4 + 30 * 4));
  }
}

TEST_CASE("one row breaking the shared pattern keeps a layer in smaller tiles", "[export]") {
  torch::manual_seed(7);
  const auto raw = torch::randn({8, 16});
  auto w = raw * compress::magnitude_mask(raw, 0.75, recipe::MaskKind::parse("[4,4]"));
  ExportOptions options;
  options.min_sparse_fraction = 0.0;
  options.activations["fc"] = activation_quant(-1, 1);
  const auto rows_of = [&](const torch::Tensor& weight) {
    ExportSummary summary;
    build_file(one_linear("fc", weight), options, &summary);
    return summary.layers.at(0).block_rows;
  };
  CHECK(rows_of(w) == 4u);
  // Row 1 loses one kept block of its tile row: rows 0-1 and 2-3 no longer agree within 4, rows 0 and 1 not
  // within 2 either.
  const auto kept = w.slice(0, 0, 4).abs().sum(0).nonzero().flatten();
  REQUIRE(kept.numel() > 0);
  const std::int64_t col = kept[0].item<std::int64_t>() / 4 * 4;
  w.index_put_({1, torch::indexing::Slice(col, col + 4)}, 0);
  CHECK(rows_of(w) == 1u);
}
