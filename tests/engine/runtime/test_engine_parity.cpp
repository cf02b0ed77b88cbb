// The engine against LibTorch on small exported models: FP32 exports against the model's own forward,
// INT8 exports against the trainer's quantized evaluation (a frozen QAT hook with the same activation
// ranges). Run once per ISA the machine has (ctest sets SPARROW_MAX_ISA).
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "export/interpret.h"
#include "format/reader.h"
#include "models/bert/bert.h"
#include "models/cnn.h"
#include "parity_fixtures.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::engine_test;

namespace {

// fc1 and conv2 with ~85 % zero 1x4 blocks, stored sparse_int8.
std::shared_ptr<models::Cnn> small_cnn() {
  testing::SmallCnn s;
  s.options.image_size = 12;
  s.options.hidden = 32;
  s.options.num_classes = 5;
  s.block_pruned = {"fc1.weight", "conv2.weight"};
  s.zero_fraction = 0.85;
  return testing::small_cnn(s);
}

std::shared_ptr<models::bert::BertForSequenceClassification> tiny_bert() {
  testing::TinyBert s;
  s.config.vocab_size = 60;
  s.config.hidden_size = 32;
  s.config.num_attention_heads = 4;
  s.config.intermediate_size = 64;
  s.config.max_seq_length = 12;
  s.config.num_labels = 3;
  s.weight_std = 0.2;
  s.labels = {"a", "b", "c"};
  return testing::tiny_bert(s);
}

// Ids of real tokens, [CLS] first, then padding of varied length per item.
data::Batch text_batch(std::int64_t n) {
  torch::manual_seed(3);
  auto ids = torch::randint(5, 60, {n, 12}, torch::kInt64);
  auto mask = torch::ones({n, 12}, torch::kInt64);
  for (std::int64_t i = 0; i < n; ++i) {
    ids[i][0] = 2;
    const std::int64_t len = 3 + i % 10;
    mask.index_put_({i, torch::indexing::Slice(len)}, 0);
    ids.index_put_({i, torch::indexing::Slice(len)}, 0);
  }
  return {ids, mask, torch::zeros({n}, torch::kInt64)};
}

exporter::ExportOptions calibrated(models::Classifier& model, const data::Batch& batch) {
  exporter::ExportOptions o;
  o.activations = exporter::calibrate(exporter::lower_model(model), {batch});
  o.quantization_source = "calibration";
  return o;
}

// How many ops of `kind` the model has, all checked folded, and how many layers apply `activation` instead.
std::pair<std::size_t, std::size_t> folded_activations(const engine::Model& model, engine::OpKind kind,
                                                       kernels::Activation activation) {
  std::size_t ops = 0, layers = 0;
  for (const auto& op : model.ops()) {
    if (op.kind == kind) {
      ++ops;
      CHECK(op.folded);
    }
    if (op.activation == activation) ++layers;
  }
  return {ops, layers};
}

// The ranges a QAT hook over every exported layer and every attention block observes on `batch`, read into
// export options through quantization.json as a QAT checkpoint's are; the frozen hook stays on the model, so its
// evaluation is the trainer's quantized one, INT8 attention included.
exporter::ExportOptions observed_with_attention(models::Classifier& model, const data::Batch& batch) {
  const auto graph = exporter::lower_model(model);
  auto hook = std::make_shared<compress::QatHook>(model, graph.quantizable, model.attention_blocks());
  REQUIRE(hook->attention_blocks().size() == model.attention_blocks().size());
  model.set_linear_hook(hook);
  model.eval();
  {
    torch::NoGradGuard no_grad;
    model.logits(batch);
  }
  hook->freeze_observers();
  const auto file = std::filesystem::temp_directory_path() / ("sparrow_parity_quantization_" + std::to_string(::getpid()) + ".json");
  write_file_atomic(file, hook->to_json().dump());
  exporter::ExportOptions o;
  exporter::read_quantization_json(file, graph, o);
  std::filesystem::remove(file);
  o.quantization_source = "quantization.json";
  return o;
}

std::string export_bytes(models::Classifier& model, const exporter::ExportOptions& options) {
  return exporter::build_file(exporter::lower_model(model), options).serialize();
}


}  // namespace

TEST_CASE("FP32 CNN export: engine logits equal LibTorch's", "[engine][parity]") {
  auto model = small_cnn();
  const auto batch = image_batch(9);
  engine::Classifier engine(load_bytes(export_bytes(*model, {})), {2, false});
  check_parity(engine_vs_model(engine, *model, batch), kFp32Tolerance);
}

TEST_CASE("INT8 CNN export (sparse and dense INT8 convs and linears): engine equals the trainer's quantized evaluation",
          "[engine][parity]") {
  auto model = small_cnn();
  const auto calib = image_batch(16), batch = image_batch(9);
  const auto options = calibrated(*model, calib);
  const std::string bytes = export_bytes(*model, options);
  const auto file = format::File::parse(bytes);
  std::set<format::WeightFormat> formats;
  for (const auto& op : file.graph()["ops"])
    if (op["op"] == "linear" || op["op"] == "conv2d") formats.insert(file.weights(op).format);
  REQUIRE(formats.count(format::WeightFormat::sparse_int8));
  REQUIRE(formats.count(format::WeightFormat::dense_int8));
  attach_quantization(*model, options);
  const auto loaded = load_bytes(bytes);
  // Every relu follows a conv2d or linear that alone feeds it: all are applied in those layers' epilogues.
  const auto [relus, fused] = folded_activations(*loaded, engine::OpKind::relu, kernels::Activation::relu);
  CHECK(relus > 0);
  CHECK(fused == relus);
  // conv1 -> relu -> pool -> conv2 runs on UINT8 maps: conv1 requantizes for conv2, the pooling takes bytes.
  std::size_t u8_pools = 0;
  for (const auto& op : loaded->ops()) u8_pools += op.kind == engine::OpKind::max_pool && op.reads_u8;
  CHECK(u8_pools == 1);
  engine::Classifier engine(loaded, {2, false});
  check_parity(engine_vs_model(engine, *model, batch), kInt8Tolerance);
  // Channels-last maps are the engine's business: an engine keeping every FP32 value in the graph's layout
  // (keep_values) gives the same logits, bit for bit.
  engine::Classifier kept(loaded, {2, false, true});
  check_identical_logits(engine, kept, batch);
}

TEST_CASE("FP32 BERT export: engine logits equal LibTorch's, padding trimmed", "[engine][parity]") {
  auto model = tiny_bert();
  const auto batch = text_batch(10);
  engine::Classifier engine(load_bytes(export_bytes(*model, {})), {2, false});
  check_parity(engine_vs_model(engine, *model, batch), kFp32Tolerance);
}

TEST_CASE("INT8 BERT export: engine equals the trainer's quantized evaluation", "[engine][parity]") {
  auto model = tiny_bert();
  const auto batch = text_batch(10);
  const auto options = calibrated(*model, batch);
  const std::string bytes = export_bytes(*model, options);
  attach_quantization(*model, options);
  const auto loaded = load_bytes(bytes);
  // Each layer's gelu op is folded into the INT8 FFN linear before it: the parity below is the fused epilogue's.
  const auto [gelus, fused] = folded_activations(*loaded, engine::OpKind::gelu, kernels::Activation::gelu);
  CHECK(gelus == 2);
  CHECK(fused == 2);
  engine::Classifier engine(loaded, {2, false});
  check_parity(engine_vs_model(engine, *model, batch), kInt8Tolerance);
}

TEST_CASE("INT8 BERT export with INT8 attention: engine equals the trainer's quantized evaluation", "[engine][parity]") {
  auto model = tiny_bert();
  const auto batch = text_batch(10);
  const auto options = observed_with_attention(*model, batch);
  REQUIRE(options.attention.size() == model->attention_blocks().size());
  const auto loaded = load_bytes(export_bytes(*model, options));
  std::size_t int8_attention = 0;
  for (const auto& op : loaded->ops()) int8_attention += op.kind == engine::OpKind::attention && op.int8_attention;
  CHECK(int8_attention == model->attention_blocks().size());
  engine::Classifier engine(loaded, {2, false});
  check_parity(engine_vs_model(engine, *model, batch), kInt8Tolerance);
}

TEST_CASE("an item's logits do not depend on its batch, its padding or the thread count", "[engine]") {
  auto model = tiny_bert();
  const auto batch = text_batch(6);
  const auto model_file = load_bytes(export_bytes(*model, calibrated(*model, batch)));
  engine::Classifier one(model_file, {1, false}), two(model_file, {2, false});
  const auto together = run_engine(two, batch);
  for (std::int64_t i = 0; i < batch.inputs.size(0); ++i) {
    data::Batch single{batch.inputs.slice(0, i, i + 1), batch.attention_mask.slice(0, i, i + 1), batch.labels.slice(0, i, i + 1)};
    const auto alone = run_engine(one, single);
    INFO("item " << i);
    CHECK(alone[0].logits == together[static_cast<std::size_t>(i)].logits);
  }
  // Plans are kept per shape: running the first shape again gives the same numbers.
  CHECK(run_engine(two, batch)[0].logits == together[0].logits);
}

TEST_CASE("texts are tokenized with the file's tokenizer", "[engine]") {
  auto model = tiny_bert();
  engine::Classifier engine(load_bytes(export_bytes(*model, {})), {1, false});
  const auto texts = engine.classify_texts({"w1 w2 w3", "w4 unknownword w5 w6 w7"});
  const auto& tok = *model->tokenizer();
  const auto e0 = tok.encode("w1 w2 w3", 12), e1 = tok.encode("w4 unknownword w5 w6 w7", 12);
  data::Batch b{torch::tensor(std::vector<std::int64_t>(e0.ids.begin(), e0.ids.end())).view({1, 12}),
                torch::tensor(std::vector<std::int64_t>(e0.mask.begin(), e0.mask.end())).view({1, 12}), torch::zeros({1}, torch::kInt64)};
  data::Batch b1{torch::tensor(std::vector<std::int64_t>(e1.ids.begin(), e1.ids.end())).view({1, 12}),
                 torch::tensor(std::vector<std::int64_t>(e1.mask.begin(), e1.mask.end())).view({1, 12}), torch::zeros({1}, torch::kInt64)};
  torch::NoGradGuard g;
  check_parity(compare_logits({texts[0]}, model->logits(b)), kFp32Tolerance);
  check_parity(compare_logits({texts[1]}, model->logits(b1)), kFp32Tolerance);
  float sum = 0;
  for (const float p : texts[0].probabilities) sum += p;
  CHECK(sum == Approx(1.0f).epsilon(1e-5));
}

TEST_CASE("inputs the model cannot take are BadInput, not a crash", "[engine]") {
  auto model = tiny_bert();
  engine::Classifier engine(load_bytes(export_bytes(*model, {})), {1, false});
  engine::TokenBatch t;
  t.batch = 1;
  t.seq = 17;  // 16 positions
  t.ids.assign(17, 5);
  t.mask.assign(17, 1);
  CHECK_THROWS_AS(engine.classify_tokens(t), BadInput);
  t.seq = 3;
  t.ids = {2, 999, 3};
  t.mask = {1, 1, 1};
  CHECK_THROWS_AS(engine.classify_tokens(t), BadInput);
  CHECK_THROWS_AS(engine.classify_images({1.0f}, 1), BadInput);
}
