// The zoo BERT against an independent plain-tensor computation of BERT from
// the same named weights, its Hugging Face parameter names, and the HF folder
// round trip.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "core/files.h"
#include "models/bert/bert.h"
#include "models/bert/bert_folder.h"
#include "models/model_factory.h"
#include "models/safetensors.h"

using namespace sparrow;
using namespace sparrow::models::bert;

namespace {

BertConfig small_config() {
  BertConfig c;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 24;
  c.max_position_embeddings = 12;
  c.num_labels = 3;
  c.layer_norm_eps = 1e-7;
  c.max_seq_length = 12;
  return c;
}

// Weights far from the tiny default initialisation, so that any mistake shows in the logits.
std::shared_ptr<BertForSequenceClassification> random_model(const BertConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  auto m = std::make_shared<BertForSequenceClassification>(c);
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.normal_(0.0, 0.4);
  m->eval();
  return m;
}

std::map<std::string, torch::Tensor> state(BertForSequenceClassification& m) {
  std::map<std::string, torch::Tensor> s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().detach().clone();
  return s;
}

// BERT written out directly: one head at a time, the mask as -inf before softmax,
// LayerNorm and GELU from their formulas.
torch::Tensor reference_logits(std::map<std::string, torch::Tensor> w, const BertConfig& c, const torch::Tensor& ids,
                               const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1), H = c.hidden_size, heads = c.num_attention_heads, d = H / heads;
  const auto linear = [&](const torch::Tensor& x, const std::string& n) {
    return torch::matmul(x, w[n + ".weight"].t()) + w[n + ".bias"];
  };
  const auto layer_norm = [&](const torch::Tensor& x, const std::string& n) {
    const auto mean = x.mean(-1, true);
    const auto var = (x - mean).pow(2).mean(-1, true);
    return (x - mean) / torch::sqrt(var + c.layer_norm_eps) * w[n + ".weight"] + w[n + ".bias"];
  };
  const auto gelu = [](const torch::Tensor& x) { return 0.5 * x * (1.0 + torch::erf(x / std::sqrt(2.0))); };

  auto x = w["bert.embeddings.word_embeddings.weight"].index_select(0, ids.reshape(-1)).reshape({B, L, H});
  x = x + w["bert.embeddings.position_embeddings.weight"].slice(0, 0, L).unsqueeze(0);
  x = x + w["bert.embeddings.token_type_embeddings.weight"][0];
  x = layer_norm(x, "bert.embeddings.LayerNorm");
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    const auto q = linear(x, p + "attention.self.query"), k = linear(x, p + "attention.self.key"),
               v = linear(x, p + "attention.self.value");
    std::vector<torch::Tensor> outs;
    for (int64_t h = 0; h < heads; ++h) {
      const auto qh = q.slice(2, h * d, (h + 1) * d), kh = k.slice(2, h * d, (h + 1) * d), vh = v.slice(2, h * d, (h + 1) * d);
      auto scores = torch::bmm(qh, kh.transpose(1, 2)) / std::sqrt(static_cast<double>(d));
      scores = scores.masked_fill(mask.unsqueeze(1) == 0, -std::numeric_limits<float>::infinity());
      outs.push_back(torch::bmm(torch::softmax(scores, -1), vh));
    }
    const auto attn = layer_norm(linear(torch::cat(outs, 2), p + "attention.output.dense") + x, p + "attention.output.LayerNorm");
    const auto ffn = linear(gelu(linear(attn, p + "intermediate.dense")), p + "output.dense");
    x = layer_norm(ffn + attn, p + "output.LayerNorm");
  }
  const auto pooled = torch::tanh(linear(x.select(1, 0), "bert.pooler.dense"));
  return linear(pooled, "classifier");
}

sparrow::data::Batch batch_of(const torch::Tensor& ids, const torch::Tensor& mask) {
  sparrow::data::Batch b;
  b.inputs = ids;
  b.attention_mask = mask;
  return b;
}

}  // namespace

TEST_CASE("BERT parameter names are Hugging Face's BertForSequenceClassification keys", "[bert]") {
  BertConfig c = small_config();
  c.num_hidden_layers = 1;
  BertForSequenceClassification m(c);
  std::vector<std::string> names;
  for (const auto& p : m.named_parameters()) names.push_back(p.key());
  const std::vector<std::string> expected = {
      "bert.embeddings.word_embeddings.weight",
      "bert.embeddings.position_embeddings.weight",
      "bert.embeddings.token_type_embeddings.weight",
      "bert.embeddings.LayerNorm.weight",
      "bert.embeddings.LayerNorm.bias",
      "bert.encoder.layer.0.attention.self.query.weight",
      "bert.encoder.layer.0.attention.self.query.bias",
      "bert.encoder.layer.0.attention.self.key.weight",
      "bert.encoder.layer.0.attention.self.key.bias",
      "bert.encoder.layer.0.attention.self.value.weight",
      "bert.encoder.layer.0.attention.self.value.bias",
      "bert.encoder.layer.0.attention.output.dense.weight",
      "bert.encoder.layer.0.attention.output.dense.bias",
      "bert.encoder.layer.0.attention.output.LayerNorm.weight",
      "bert.encoder.layer.0.attention.output.LayerNorm.bias",
      "bert.encoder.layer.0.intermediate.dense.weight",
      "bert.encoder.layer.0.intermediate.dense.bias",
      "bert.encoder.layer.0.output.dense.weight",
      "bert.encoder.layer.0.output.dense.bias",
      "bert.encoder.layer.0.output.LayerNorm.weight",
      "bert.encoder.layer.0.output.LayerNorm.bias",
      "bert.pooler.dense.weight",
      "bert.pooler.dense.bias",
      "classifier.weight",
      "classifier.bias",
  };
  CHECK(names == expected);
  CHECK(m.named_buffers().size() == 0);
  const auto prunable = m.prunable_parameters();
  REQUIRE(prunable.size() == 6);
  CHECK(prunable.front() == "bert.encoder.layer.0.attention.self.query.weight");
  CHECK(prunable.back() == "bert.encoder.layer.0.output.dense.weight");
  CHECK(m.named_parameters()["bert.encoder.layer.0.intermediate.dense.weight"].sizes() == torch::IntArrayRef({24, 16}));
}

TEST_CASE("BERT logits equal a plain-tensor reference, with and without padding", "[bert]") {
  const BertConfig c = small_config();
  auto m = random_model(c, 7);
  torch::NoGradGuard g;
  const auto ids = torch::randint(1, c.vocab_size, {3, 10}, torch::kInt64);
  auto mask = torch::ones({3, 10}, torch::kInt64);
  mask[1].slice(0, 6).zero_();  // item 1 has 6 real tokens, item 2 has 3
  mask[2].slice(0, 3).zero_();
  const auto logits = m->forward(batch_of(ids, mask));
  const auto ref = reference_logits(state(*m), c, ids, mask);
  REQUIRE(logits.sizes() == torch::IntArrayRef({3, 3}));
  CHECK(ref.abs().max().item<float>() > 0.1f);  // not trivially small
  CHECK((logits - ref).abs().max().item<float>() < 1e-5f);

  SECTION("a padded item scores as the same item without its padding") {
    const auto alone = m->forward(batch_of(ids[1].slice(0, 0, 6).unsqueeze(0), torch::ones({1, 6}, torch::kInt64)));
    CHECK((alone[0] - logits[1]).abs().max().item<float>() < 1e-5f);
  }
  SECTION("what sits under the padding does not matter") {
    auto other = ids.clone();
    other[2].slice(0, 3).fill_(5);
    CHECK((m->forward(batch_of(other, mask)) - logits).abs().max().item<float>() < 1e-6f);
  }
  SECTION("without a mask every position is attended to") {
    const auto full = m->forward(batch_of(ids, torch::Tensor()));
    CHECK((full - reference_logits(state(*m), c, ids, torch::ones({3, 10}, torch::kInt64))).abs().max().item<float>() < 1e-5f);
    CHECK((full[2] - logits[2]).abs().max().item<float>() > 1e-4f);
  }
}

TEST_CASE("BERT config is validated and rebuilt from its own config()", "[bert]") {
  BertConfig c = small_config();
  c.num_attention_heads = 5;
  CHECK_THROWS_AS(BertForSequenceClassification(c), BadInput);
  c = small_config();
  c.max_seq_length = 20;
  CHECK_THROWS_WITH(BertForSequenceClassification(c), Catch::Contains("max_seq_length"));

  auto m = random_model(small_config(), 3);
  m->labels = {"a", "b", "c"};
  const auto rebuilt = std::dynamic_pointer_cast<BertForSequenceClassification>(models::build_model(m->config(), "test"));
  REQUIRE(rebuilt);
  CHECK(rebuilt->config() == m->config());
  CHECK(rebuilt->labels == m->labels);
  m->set_max_seq_length(8);
  CHECK(m->config()["max_seq_length"] == 8);
  CHECK_THROWS_WITH(m->set_max_seq_length(13), Catch::Contains("max_position_embeddings"));
  CHECK(m->bert_config().max_seq_length == 8);
  auto bad = m->config();
  bad["hidden_act"] = "relu";
  CHECK_THROWS_WITH(models::build_model(bad, "r.yaml"), Catch::Contains("hidden_act"));
  bad = m->config();
  bad["hiden_size"] = 3;
  CHECK_THROWS_WITH(models::build_model(bad, "r.yaml"), Catch::Contains("hiden_size"));
}

TEST_CASE("HF config.json sizes must be integers within the model limits; tokenizer lengths are clamped", "[bert]") {
  // Found by tests/fuzz (fuzz_hf_config): 1e300 read as an int64 was undefined behaviour, and 2.5 became 2.
  const auto config = [](const std::string& text) { return config_from_hf(nlohmann::json::parse(text), "config.json"); };
  CHECK(config(R"({"vocab_size": 30522})").vocab_size == 30522);
  CHECK_THROWS_WITH(config(R"({"vocab_size": 1e300})"), "config.json: vocab_size has the wrong type: expected an integer, found 1e+300");
  CHECK_THROWS_WITH(config(R"({"hidden_size": 2.5})"), "config.json: hidden_size has the wrong type: expected an integer, found 2.5");
  CHECK_THROWS_WITH(config(R"({"pad_token_id": 18446744073709551615})"),
                    "config.json: pad_token_id has the wrong type: expected an integer, found 18446744073709551615");
  // Found by tests/fuzz (fuzz_hf_config): 866666666666666 layers were accepted, and building them never ended.
  CHECK_THROWS_WITH(config(R"({"num_hidden_layers": 866666666666666})"),
                    "config.json: num_hidden_layers must be from 1 to 1024, got 866666666666666");
  CHECK_THROWS_WITH(config(R"({"hidden_size": 65536, "num_attention_heads": 1})"),
                    Catch::StartsWith("config.json: the model's sizes give 3.5e+10 parameters, more than the 2.15e+09"));
  BertConfig c = config("{}");
  apply_hf_tokenizer_config(nlohmann::json::parse(R"({"model_max_length": -1e300})"), false, c, "tokenizer_config.json");
  CHECK(c.max_seq_length == 0);  // then refused by validate(), as any length below 2
  CHECK_THROWS_WITH(c.validate("model"), Catch::Contains("max_seq_length 0"));
  apply_hf_tokenizer_config(nlohmann::json::parse(R"({"model_max_length": 1e30})"), false, c, "tokenizer_config.json");
  CHECK(c.max_seq_length == c.max_position_embeddings);  // HF's "no limit"
}

TEST_CASE("A Hugging Face BERT folder round-trips", "[bert]") {
  const fs::path dir = fs::temp_directory_path() / "sparrow_test_bert_folder";
  fs::remove_all(dir);
  const BertConfig c = small_config();
  auto m = random_model(c, 11);
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int i = 5; i < c.vocab_size; ++i) vocab.push_back("w" + std::to_string(i));
  m->set_tokenizer(std::make_shared<sparrow::text::Tokenizer>(vocab, sparrow::text::BasicTokenizerOptions{}));
  m->labels = {"x", "y", "z"};
  save_bert_folder(dir, *m);

  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}) CHECK(fs::exists(dir / f));
  const auto config = nlohmann::json::parse(read_file(dir / "config.json"));
  CHECK(config["model_type"] == "bert");
  CHECK(config["architectures"][0] == "BertForSequenceClassification");
  CHECK(config["id2label"]["2"] == "z");
  CHECK(models::read_safetensors(dir / "model.safetensors").metadata.at("format") == "pt");

  CHECK(is_bert_folder(dir));
  auto loaded = load_bert_folder(dir, false);
  loaded->eval();
  CHECK(loaded->labels == m->labels);
  CHECK(loaded->tokenizer()->vocab() == vocab);
  torch::NoGradGuard g;
  const auto ids = torch::randint(1, c.vocab_size, {2, 8}, torch::kInt64);
  const auto mask = torch::ones({2, 8}, torch::kInt64);
  CHECK(torch::equal(loaded->forward(batch_of(ids, mask)), m->forward(batch_of(ids, mask))));

  SECTION("pre-training checkpoints: gamma/beta names, no classifier head") {
    std::vector<torch::Tensor> keep;
    std::vector<models::SafeTensorView> views;
    for (const auto& p : m->named_parameters()) {
      std::string name = p.key();
      if (name.rfind("classifier.", 0) == 0) continue;
      if (name == "bert.embeddings.LayerNorm.weight") name = "bert.embeddings.LayerNorm.gamma";
      keep.push_back(p.value().detach().contiguous());
      views.push_back({name, models::SafeDType::F32, p.value().sizes().vec(),
                       std::string_view(static_cast<const char*>(keep.back().data_ptr()), keep.back().nbytes())});
    }
    keep.push_back(torch::zeros({4}));
    views.push_back({"cls.predictions.bias", models::SafeDType::F32, {4},
                     std::string_view(static_cast<const char*>(keep.back().data_ptr()), 16)});
    write_file_atomic(dir / "model.safetensors", models::serialize_safetensors(views, {}));
    CHECK_THROWS_WITH(load_bert_folder(dir, false), Catch::Contains("classifier.weight") && Catch::Contains("missing"));
    auto fresh = load_bert_folder(dir, true);
    CHECK(torch::equal(fresh->named_parameters()["bert.embeddings.LayerNorm.weight"],
                       m->named_parameters()["bert.embeddings.LayerNorm.weight"]));
  }
  SECTION("a mis-shaped tensor is named") {
    auto cfg = nlohmann::json::parse(read_file(dir / "config.json"));
    cfg["intermediate_size"] = 32;
    write_file_atomic(dir / "config.json", cfg.dump());
    CHECK_THROWS_WITH(load_bert_folder(dir, false), Catch::Contains("intermediate.dense.weight") && Catch::Contains("shape"));
  }
  fs::remove_all(dir);
}
