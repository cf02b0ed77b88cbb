// Structured pruning: removing heads, FFN neurons, conv channels and encoder
// layers is exact (the shrunk model computes what the model with those units
// zeroed computed), configs state the new shapes, checkpoints reload, and the
// modifiers follow their schedule inside a real training run.
#include <catch2/catch.hpp>

#include <filesystem>

#include "compress/modifiers/structured_pruning_modifier.h"
#include "compress/param_selection.h"
#include "compress/trainer.h"
#include "core/errors.h"
#include "data/fashion_mnist.h"
#include "data/text/spam_assassin.h"
#include "text/tokenizer.h"
#include "models/bert/bert.h"
#include "models/checkpoint.h"
#include "models/cnn.h"
#include "models/model_factory.h"
#include "recipe/recipe.h"

using namespace sparrow;
namespace fs = std::filesystem;

namespace {

// Real e-mails with a hashing vocabulary: token ids without training a tokenizer.
data::Batch email_batch(int64_t vocab, int64_t length) {
  const auto texts = data::text::load_spam_assassin(data::text::default_spam_assassin_dir(), data::Split::Test, 4);
  auto ids = torch::zeros({static_cast<int64_t>(texts.texts.size()), length}, torch::kInt64);
  auto mask = torch::zeros_like(ids);
  for (size_t i = 0; i < texts.texts.size(); ++i) {
    const auto words = text::basic_tokenize(texts.texts[i], {});
    ids[static_cast<int64_t>(i)][0] = 2;
    mask[static_cast<int64_t>(i)][0] = 1;
    for (int64_t t = 1; t < length && t <= static_cast<int64_t>(words.size()); ++t) {
      ids[static_cast<int64_t>(i)][t] = 5 + static_cast<int64_t>(data::text::fnv1a64(words[static_cast<size_t>(t - 1)]) % static_cast<uint64_t>(vocab - 5));
      mask[static_cast<int64_t>(i)][t] = 1;
    }
  }
  data::Batch b;
  b.inputs = ids;
  b.attention_mask = mask;
  return b;
}

models::bert::BertConfig small_bert(int64_t layers) {
  models::bert::BertConfig c;
  c.vocab_size = 300;
  c.hidden_size = 32;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.intermediate_size = 48;
  c.max_position_embeddings = 24;
  c.max_seq_length = 24;
  return c;
}

std::shared_ptr<models::bert::BertForSequenceClassification> random_bert(const models::bert::BertConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  auto m = std::make_shared<models::bert::BertForSequenceClassification>(c);
  torch::NoGradGuard g;
  // Non-zero biases, so that a head or neuron whose bias survived would show.
  for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int64_t i = 5; i < c.vocab_size; ++i) vocab.push_back("w" + std::to_string(i));
  m->set_tokenizer(std::make_shared<text::Tokenizer>(vocab, text::BasicTokenizerOptions{}));
  m->eval();
  return m;
}

// Zeroes every slice the units own: the "masked" model removal must match.
void zero_units(models::Classifier& m, const models::StructureGroup& g, const std::vector<int64_t>& units) {
  torch::NoGradGuard no_grad;
  for (const auto& s : g.slices) {
    auto w = compress::parameter(m, s.param);
    for (const auto u : units) w.narrow(s.dim, u * s.unit_size, s.unit_size).zero_();
  }
}

const models::StructureGroup& group(const std::vector<models::StructureGroup>& groups, const std::string& name) {
  for (const auto& g : groups)
    if (g.name == name) return g;
  FAIL("no group " << name);
  return groups.front();
}

void check_reload(models::Classifier& m, const data::Batch& batch, const std::string& dir_name) {
  const fs::path dir = fs::temp_directory_path() / dir_name;
  fs::remove_all(dir);
  models::save_checkpoint(dir, m);
  auto loaded = models::load_checkpoint(dir);
  loaded->eval();
  torch::NoGradGuard g;
  CHECK(torch::equal(loaded->logits(batch), m.logits(batch)));
  CHECK(loaded->config() == m.config());
  fs::remove_all(dir);
}

}  // namespace

TEST_CASE("removing BERT heads and FFN neurons equals zeroing them", "[compress][structured]") {
  auto m = random_bert(small_bert(2), 3);
  const auto batch = email_batch(300, 24);
  torch::NoGradGuard g;
  const auto heads = m->structure_groups(models::StructureKind::Heads);
  const auto neurons = m->structure_groups(models::StructureKind::Neurons);
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].units == 4);
  CHECK(neurons[1].units == 48);

  auto masked = models::clone_model(*m);
  masked->eval();
  zero_units(*masked, group(heads, "bert.encoder.layer.0.attention"), {1, 3});
  zero_units(*masked, group(heads, "bert.encoder.layer.1.attention"), {0});
  zero_units(*masked, group(neurons, "bert.encoder.layer.1.intermediate"), {0, 5, 6, 47});
  const auto expected = masked->logits(batch);
  // The zeroed units mattered: the masked model differs from the dense one.
  CHECK_FALSE(torch::allclose(expected, m->logits(batch), 1e-4, 1e-5));

  m->remove_units(models::StructureKind::Heads, "bert.encoder.layer.0.attention", {1, 3});
  m->remove_units(models::StructureKind::Heads, "bert.encoder.layer.1.attention", {0});
  m->remove_units(models::StructureKind::Neurons, "bert.encoder.layer.1.intermediate", {0, 5, 6, 47});
  CHECK(compress::parameter(*m, "bert.encoder.layer.0.attention.self.query.weight").sizes() == torch::IntArrayRef({16, 32}));
  CHECK(compress::parameter(*m, "bert.encoder.layer.0.attention.output.dense.weight").sizes() == torch::IntArrayRef({32, 16}));
  CHECK(compress::parameter(*m, "bert.encoder.layer.1.attention.self.value.bias").sizes() == torch::IntArrayRef({24}));
  CHECK(compress::parameter(*m, "bert.encoder.layer.1.intermediate.dense.weight").sizes() == torch::IntArrayRef({44, 32}));
  CHECK(compress::parameter(*m, "bert.encoder.layer.1.output.dense.weight").sizes() == torch::IntArrayRef({32, 44}));
  CHECK(torch::allclose(m->logits(batch), expected, 1e-5, 1e-6));

  // A second removal in layer 0 refers to current head indices: its head 1 is the original head 2.
  const auto config = m->config();
  CHECK(config["pruned_heads"]["0"] == nlohmann::json({1, 3}));
  CHECK(config["pruned_heads"]["1"] == nlohmann::json({0}));
  CHECK(config["intermediate_sizes"] == nlohmann::json({48, 44}));
  m->remove_units(models::StructureKind::Heads, "bert.encoder.layer.0.attention", {1});
  CHECK(m->config()["pruned_heads"]["0"] == nlohmann::json({1, 2, 3}));
  CHECK_THROWS_AS(m->remove_units(models::StructureKind::Heads, "bert.encoder.layer.0.attention", {0}), InternalError);

  check_reload(*m, batch, "sparrow_test_structured_bert");
}

TEST_CASE("removing encoder layers renumbers the rest and keeps their pruning", "[compress][structured]") {
  auto m = random_bert(small_bert(4), 5);
  const auto batch = email_batch(300, 24);
  m->remove_units(models::StructureKind::Heads, "bert.encoder.layer.3.attention", {2});
  m->remove_units(models::StructureKind::Neurons, "bert.encoder.layer.2.intermediate", {7});
  m->remove_units(models::StructureKind::Layers, "bert.encoder", {0, 1});
  CHECK(m->bert_config().num_hidden_layers == 2);
  CHECK(m->config()["pruned_heads"] == nlohmann::json({{"1", {2}}}));
  CHECK(m->config()["intermediate_sizes"] == nlohmann::json({47, 48}));

  // The reference: a 2-layer model given the surviving layers' weights by hand.
  auto reference = models::build_model(m->config(), "test");
  reference->eval();
  auto source = random_bert(small_bert(4), 5);
  source->remove_units(models::StructureKind::Heads, "bert.encoder.layer.3.attention", {2});
  source->remove_units(models::StructureKind::Neurons, "bert.encoder.layer.2.intermediate", {7});
  {
    torch::NoGradGuard g;
    for (const auto& p : reference->named_parameters()) {
      std::string name = p.key();
      if (name.rfind("bert.encoder.layer.0.", 0) == 0) name.replace(19, 1, "2");
      else if (name.rfind("bert.encoder.layer.1.", 0) == 0) name.replace(19, 1, "3");
      p.value().copy_(compress::parameter(*source, name));
    }
  }
  torch::NoGradGuard g;
  CHECK(torch::equal(m->logits(batch), reference->logits(batch)));
  check_reload(*m, batch, "sparrow_test_structured_layers");
}

TEST_CASE("removing CNN channels and neurons equals zeroing them (Fashion-MNIST)", "[compress][structured]") {
  const auto images = data::load_fashion_mnist(data::default_fashion_mnist_dir(), data::Split::Test, 32);
  const auto batch = images.batch(torch::arange(32));
  models::CnnOptions o;
  o.conv1_channels = 8;
  o.conv2_channels = 12;
  o.hidden = 20;
  torch::manual_seed(9);
  models::Cnn m(o);
  m.eval();
  auto masked = models::clone_model(m);
  masked->eval();
  const auto channels = m.structure_groups(models::StructureKind::Channels);
  zero_units(*masked, group(channels, "conv1"), {0, 5});
  zero_units(*masked, group(channels, "conv2"), {2, 3, 11});
  zero_units(*masked, m.structure_groups(models::StructureKind::Neurons).front(), {4});
  torch::NoGradGuard g;
  const auto expected = masked->logits(batch);
  CHECK_FALSE(torch::allclose(expected, m.logits(batch), 1e-4, 1e-5));

  m.remove_units(models::StructureKind::Channels, "conv1", {0, 5});
  m.remove_units(models::StructureKind::Channels, "conv2", {2, 3, 11});
  m.remove_units(models::StructureKind::Neurons, "fc1", {4});
  CHECK(compress::parameter(m, "conv1.weight").sizes() == torch::IntArrayRef({6, 1, 3, 3}));
  CHECK(compress::parameter(m, "conv2.weight").sizes() == torch::IntArrayRef({9, 6, 3, 3}));
  CHECK(compress::parameter(m, "fc1.weight").sizes() == torch::IntArrayRef({19, 9 * 7 * 7}));
  CHECK(compress::parameter(m, "fc2.weight").sizes() == torch::IntArrayRef({10, 19}));
  CHECK(m.config()["conv2_channels"] == 9);
  CHECK(torch::allclose(m.logits(batch), expected, 1e-5, 1e-6));
  check_reload(m, batch, "sparrow_test_structured_cnn");
}

TEST_CASE("structured pruning modifiers in a training run", "[compress][structured]") {
  const auto train_set = data::load_fashion_mnist(data::default_fashion_mnist_dir(), data::Split::Train, 256);
  const auto test_set = data::load_fashion_mnist(data::default_fashion_mnist_dir(), data::Split::Test, 128);
  models::CnnOptions o;
  o.conv1_channels = 8;
  o.conv2_channels = 16;
  o.hidden = 32;

  SECTION("channels by first-order importance, then block masks on the smaller model") {
    const auto r = recipe::parse_recipe(R"(
train: {epochs: 2, batch_size: 32, optimizer: adamw, lr: 0.002}
modifiers:
  - !GMPruningModifier {params: [fc1.weight], init_sparsity: 0.5, final_sparsity: 0.8, start_epoch: 1, end_epoch: 1.5, update_frequency: 0.25, mask_type: block4}
  - !ChannelPruningModifier {final_sparsity: 0.5, start_epoch: 0, end_epoch: 1, update_frequency: 0.25, score: first_order, modules: [conv2]}
  - !NeuronPruningModifier {final_sparsity: 0.25, start_epoch: 0, end_epoch: 0.5, update_frequency: 0.25}
)", "r.yaml");
    torch::manual_seed(1);
    models::Cnn m(o);
    const auto result = compress::train(r, m, train_set, test_set);
    CHECK(m.config()["conv2_channels"] == 8);
    CHECK(m.config()["conv1_channels"] == 8);
    CHECK(m.config()["hidden"] == 24);
    CHECK(compress::parameter(m, "fc1.weight").sizes() == torch::IntArrayRef({24, 8 * 7 * 7}));
    REQUIRE(result.pruned.size() == 1);
    CHECK(result.final_sparsity == Approx(0.8).margin(0.005));
    // Training went on after the removals: the optimizer holds the new parameters.
    REQUIRE(result.epochs.size() == 2);
    CHECK(result.epochs[1].loss < result.epochs[0].loss);
  }
  SECTION("structured pruning must end before masks start") {
    const auto r = recipe::parse_recipe(R"(
train: {epochs: 2}
modifiers:
  - !GMPruningModifier {params: [fc1.weight], final_sparsity: 0.5, start_epoch: 0.5, end_epoch: 1}
  - !ChannelPruningModifier {final_sparsity: 0.5, start_epoch: 0, end_epoch: 1}
)", "r.yaml");
    models::Cnn m(o);
    CHECK_THROWS_WITH(compress::train(r, m, train_set, test_set),
                      Catch::Contains("r.yaml:5") && Catch::Contains("must end") && Catch::Contains("GMPruningModifier"));
  }
  SECTION("a model without the structure is bad input") {
    const auto r = recipe::parse_recipe("modifiers:\n  - !HeadPruningModifier {final_sparsity: 0.5, end_epoch: 1}\n", "r.yaml");
    models::Cnn m(o);
    CHECK_THROWS_WITH(compress::train(r, m, train_set, test_set), Catch::Contains("r.yaml:2") && Catch::Contains("no attention heads"));
  }
}

TEST_CASE("LayerPruningModifier removes named or lowest-scored encoder layers", "[compress][structured]") {
  const auto batch = email_batch(300, 24);
  data::Dataset d;
  d.inputs = batch.inputs;
  d.attention_mask = batch.attention_mask;
  d.labels = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  d.label_names = {"ham", "spam"};
  SECTION("named") {
    auto m = random_bert(small_bert(4), 2);
    const auto r = recipe::parse_recipe(
        "train: {epochs: 1, batch_size: 2}\nmodifiers:\n  - !LayerPruningModifier {layers: [bert.encoder.layer.1, bert.encoder.layer.3], start_epoch: 0.5}\n",
        "r.yaml");
    compress::train(r, *m, d, d);
    CHECK(m->bert_config().num_hidden_layers == 2);
  }
  SECTION("scored") {
    auto m = random_bert(small_bert(4), 2);
    const auto r = recipe::parse_recipe(
        "train: {epochs: 1, batch_size: 2}\nmodifiers:\n  - !LayerPruningModifier {final_sparsity: 0.75, end_epoch: 0.5, score: first_order}\n",
        "r.yaml");
    compress::train(r, *m, d, d);
    CHECK(m->bert_config().num_hidden_layers == 1);
  }
  SECTION("a name that is not an encoder layer") {
    auto m = random_bert(small_bert(2), 2);
    const auto r = recipe::parse_recipe("modifiers:\n  - !LayerPruningModifier {layers: [bert.pooler]}\n", "r.yaml");
    CHECK_THROWS_WITH(compress::train(r, *m, d, d), Catch::Contains("r.yaml:2") && Catch::Contains("bert.pooler"));
  }
}

TEST_CASE("structured pruning recipes: fields, errors and the resolved YAML", "[compress][structured][recipe]") {
  const auto r = recipe::parse_recipe(R"(
modifiers:
  - !HeadPruningModifier {final_sparsity: 0.5, score: first_order, end_epoch: 1, update_frequency: 0.25, modules: re:.*layer\.0.*}
  - !LayerPruningModifier {layers: [bert.encoder.layer.1], start_epoch: 0.5}
)", "r.yaml");
  const auto& heads = std::get<recipe::StructuredPruningParams>(r.modifiers[0].params);
  CHECK(heads.structure == recipe::Structure::Heads);
  CHECK(heads.score == recipe::UnitScore::FirstOrder);
  CHECK(heads.modules == std::vector<std::string>{"re:.*layer\\.0.*"});
  // The resolved recipe reads back to the same modifiers.
  const auto again = recipe::parse_recipe(recipe::resolved_yaml(r), "resolved.yaml");
  const auto& h2 = std::get<recipe::StructuredPruningParams>(again.modifiers[0].params);
  CHECK(h2.final_sparsity == 0.5);
  CHECK(h2.update_frequency == 0.25);
  CHECK(h2.modules == heads.modules);
  CHECK(std::get<recipe::LayerPruningParams>(again.modifiers[1].params).layers == std::vector<std::string>{"bert.encoder.layer.1"});

  const auto error_of = [](const std::string& text) -> std::string {
    try {
      recipe::parse_recipe(text, "r.yaml");
    } catch (const BadInput& e) {
      return e.what();
    }
    return "";
  };
  CHECK_THAT(error_of("modifiers:\n  - !NeuronPruningModifier {end_epoch: 1}\n"),
             Catch::Contains("r.yaml:2:5") && Catch::Contains("final_sparsity"));
  CHECK_THAT(error_of("modifiers:\n  - !ChannelPruningModifier {final_sparsity: 1.0}\n"),
             Catch::Contains("r.yaml:2") && Catch::Contains("final_sparsity must be in [0, 1)"));
  CHECK_THAT(error_of("modifiers:\n  - !HeadPruningModifier {final_sparsity: 0.5, score: taylor}\n"),
             Catch::Contains("score must be one of magnitude, first_order"));
  CHECK_THAT(error_of("modifiers:\n  - !LayerPruningModifier {layers: [a], final_sparsity: 0.5}\n"),
             Catch::Contains("either layers") && Catch::Contains("r.yaml:2"));
}
