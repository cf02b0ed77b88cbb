// The zoo's configuration rules (lib/models/model_config.h): every numeric field of every model is checked
// where it is read, with the exact message a user sees, and what passes builds the model it describes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "core/errors.h"
#include "models/model_config.h"
#include "models/model_factory.h"

using namespace sparrow;
using nlohmann::json;

namespace {

// The BadInput message check_model_config gives for `config` (a recipe's model: section), or "" when it passes.
std::string error_of(const json& config) {
  try {
    (void)models::check_model_config(config, "r.yaml");
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

json with(json base, const std::string& key, const json& value) {
  base[key] = value;
  return base;
}

const json cnn = {{"name", "cnn"}, {"conv1_channels", 4}, {"conv2_channels", 8}, {"hidden", 16}};
const json mlp = {{"name", "mlp"}, {"in_features", 12}, {"hidden", {8}}, {"num_classes", 3}};
const json bert = {{"name", "bert"}, {"vocab_size", 50}, {"hidden_size", 16}, {"num_hidden_layers", 2},
                   {"num_attention_heads", 4}, {"intermediate_size", 24}, {"max_position_embeddings", 12},
                   {"max_seq_length", 12}};

}  // namespace

TEST_CASE("model config: integers must be JSON integers, flags booleans, text strings", "[models][config]") {
  // 1e300 read as an int64 was undefined behaviour; 2.5 became 2 and true became 1.
  CHECK(error_of(with(bert, "hidden_size", 1e300)) == "r.yaml: model.hidden_size has the wrong type: expected an integer, found 1e+300");
  CHECK(error_of(with(cnn, "hidden", 2.5)) == "r.yaml: model.hidden has the wrong type: expected an integer, found 2.5");
  CHECK(error_of(with(cnn, "conv1_channels", true)) == "r.yaml: model.conv1_channels has the wrong type: expected an integer, found true");
  CHECK(error_of(with(cnn, "num_classes", "10")) == "r.yaml: model.num_classes has the wrong type: expected an integer, found \"10\"");
  CHECK(error_of(with(bert, "pad_token_id", 18446744073709551615u)) ==
        "r.yaml: model.pad_token_id has the wrong type: expected an integer, found 18446744073709551615");
  CHECK(error_of(with(mlp, "hidden", {8, true})) == "r.yaml: model.hidden has the wrong type: expected an integer, found true");
  CHECK(error_of(with(cnn, "batch_norm", 1)) == "r.yaml: model.batch_norm has the wrong type: expected true or false, found 1");
  CHECK(error_of(with(cnn, "dropout", "0.1")) == "r.yaml: model.dropout has the wrong type: expected a finite number, found \"0.1\"");
  CHECK(error_of(with(bert, "hidden_act", 3)) == "r.yaml: model.hidden_act has the wrong type: expected a string, found 3");
  CHECK(error_of({{"name", 5}}) == "r.yaml: model.name has the wrong type: expected a string, found 5");
  CHECK(error_of(json::array({1, 2})) == "r.yaml: model must be a mapping of fields, found [1,2]");
  // A long value is cut in the message.
  CHECK(error_of(with(cnn, "hidden", std::string(200, 'x'))).size() < 200);
}

TEST_CASE("model config: sizes are 1 to 1048576, layer counts 1 to 1024, CNN images at least 4 pixels", "[models][config]") {
  CHECK(error_of(with(cnn, "hidden", 0)) == "r.yaml: model.hidden must be from 1 to 1048576, got 0");
  CHECK(error_of(with(cnn, "in_channels", -3)) == "r.yaml: model.in_channels must be from 1 to 1048576, got -3");
  CHECK(error_of(with(cnn, "num_classes", 1048577)) == "r.yaml: model.num_classes must be from 1 to 1048576, got 1048577");
  CHECK(error_of(with(cnn, "image_size", 3)) == "r.yaml: model.image_size must be from 4 to 1048576, got 3");
  CHECK(error_of(with(cnn, "image_size", 1048577)) == "r.yaml: model.image_size must be from 4 to 1048576, got 1048577");
  CHECK(error_of(with(cnn, "image_size", 4)).empty());
  CHECK(error_of(with(mlp, "in_features", 0)) == "r.yaml: model.in_features must be from 1 to 1048576, got 0");
  CHECK(error_of(with(mlp, "hidden", {8, 0})) == "r.yaml: model.hidden must be from 1 to 1048576, got 0");
  CHECK(error_of(with(mlp, "hidden", 8)) == "r.yaml: model.hidden must be a list of at most 1024 layer widths, found 8");
  CHECK(error_of(with(mlp, "hidden", json(std::vector<int>(1025, 1)))) ==
        "r.yaml: model.hidden must be a list of at most 1024 layer widths, found 1025 entries");
  CHECK(error_of(with(mlp, "hidden", json::array())).empty());  // a linear classifier
  CHECK(error_of(with(bert, "vocab_size", 0)) == "r.yaml: model: vocab_size must be from 1 to 1048576, got 0");
  CHECK(error_of(with(bert, "num_hidden_layers", 1025)) == "r.yaml: model: num_hidden_layers must be from 1 to 1024, got 1025");
  CHECK(error_of(with(bert, "intermediate_sizes", {24, 1099511627776})) ==
        "r.yaml: model: intermediate_sizes must be from 1 to 1048576, got 1099511627776");
  CHECK(error_of(with(bert, "intermediate_sizes", {24})) == "r.yaml: model: intermediate_sizes has 1 entries for 2 layers");
}

TEST_CASE("model config: the parameters all sizes give together are at most 2^31", "[models][config]") {
  CHECK(error_of(with(with(cnn, "conv2_channels", 1048576), "hidden", 1048576)) ==
        "r.yaml: the model's sizes give 5.39e+13 parameters, more than the 2.15e+09 Sparrow builds");
  CHECK(error_of(with(with(mlp, "in_features", 1048576), "hidden", {1048576})) ==
        "r.yaml: the model's sizes give 1.1e+12 parameters, more than the 2.15e+09 Sparrow builds");
  // Per-layer FFN widths count, not only intermediate_size.
  CHECK(error_of(with(with(bert, "hidden_size", 1024), "intermediate_sizes", {24, 1048576})) ==
        "r.yaml: model: the model's sizes give 2.16e+09 parameters, more than the 2.15e+09 Sparrow builds");
}

TEST_CASE("model config: probabilities are in [0, 1), BERT's other reals in their ranges", "[models][config]") {
  CHECK(error_of(with(cnn, "dropout", 1.0)) == "r.yaml: model.dropout must be in [0, 1), got 1");
  CHECK(error_of(with(mlp, "dropout", -0.1)) == "r.yaml: model.dropout must be in [0, 1), got -0.1");
  CHECK(error_of(with(bert, "hidden_dropout_prob", 1.5)) == "r.yaml: model: hidden_dropout_prob must be in [0, 1), got 1.5");
  CHECK(error_of(with(bert, "attention_probs_dropout_prob", -1)) ==
        "r.yaml: model: attention_probs_dropout_prob must be in [0, 1), got -1");
  CHECK(error_of(with(bert, "layer_norm_eps", 0)) == "r.yaml: model: layer_norm_eps must be in (0, 1], got 0");
  CHECK(error_of(with(bert, "layer_norm_eps", 2)) == "r.yaml: model: layer_norm_eps must be in (0, 1], got 2");
  CHECK(error_of(with(bert, "initializer_range", -0.02)) == "r.yaml: model: initializer_range must be in [0, 1], got -0.02");
}

TEST_CASE("model config: BERT's heads divide its width, ids and lengths fit, every label is named", "[models][config]") {
  CHECK(error_of(with(bert, "num_attention_heads", 5)) == "r.yaml: model: hidden_size 16 is not a multiple of num_attention_heads 5");
  CHECK(error_of(with(bert, "num_attention_heads", 32)) == "r.yaml: model: hidden_size 16 is not a multiple of num_attention_heads 32");
  CHECK(error_of(with(bert, "pad_token_id", 50)) == "r.yaml: model: pad_token_id must be from 0 to 49, got 50");
  CHECK(error_of(with(bert, "max_seq_length", 1)) == "r.yaml: model: max_seq_length 1 must be in [2, max_position_embeddings = 12]");
  CHECK(error_of(with(bert, "max_seq_length", 13)) == "r.yaml: model: max_seq_length 13 must be in [2, max_position_embeddings = 12]");
  CHECK(error_of(with(bert, "pruned_heads", {{"0", {0, 1, 2, 3}}})) == "r.yaml: model: pruned_heads of layer 0: every head is pruned");
  CHECK(error_of(with(bert, "pruned_heads", {{"1", {2, 2}}})) == "r.yaml: model: pruned_heads of layer 1: head 2 is listed twice");
  CHECK(error_of(with(bert, "pruned_heads", {{"1", {4}}})) == "r.yaml: model: pruned_heads of layer 1: head 4 is outside [0, 4)");
  CHECK(error_of(with(bert, "id2label", {{"0", "ham"}, {"2", "spam"}})) == "r.yaml: model.id2label has no name for label 1");
  CHECK(error_of(with(bert, "id2label", {{"0", "ham"}, {"1", 7}})) ==
        "r.yaml: model.id2label.1 has the wrong type: expected a string, found 7");
  CHECK(error_of(with(bert, "id2label", {"ham", "spam"})) == "r.yaml: model.id2label must be an object {\"0\": name, ...}, found [\"ham\",\"spam\"]");
}

TEST_CASE("model config: unknown models and fields are named with what is valid", "[models][config]") {
  CHECK(error_of({{"name", "resnet"}}) == "r.yaml: unknown model.name 'resnet'; available: bert cnn llama mlp");
  CHECK(error_of(with(cnn, "hiden", 3)) ==
        "r.yaml: unknown field model.hiden for model 'cnn'; valid fields: batch_norm conv1_channels conv2_channels dropout hidden "
        "image_size in_channels num_classes");
}

TEST_CASE("model config: what passes builds the model it describes", "[models][config]") {
  const auto checked = std::get<models::CnnOptions>(models::check_model_config(with(cnn, "image_size", 12), "r.yaml"));
  CHECK(checked.image_size == 12);
  CHECK(checked.conv2_channels == 8);
  CHECK(checked.in_channels == 1);  // the default
  const auto built = models::build_model(with(cnn, "image_size", 12), "r.yaml");
  CHECK(built->config()["image_size"] == 12);
  CHECK(built->config()["hidden"] == 16);

  const auto m = std::get<models::MlpOptions>(models::check_model_config(mlp, "r.yaml"));
  CHECK(m.hidden == std::vector<int64_t>{8});
  CHECK(models::build_model(mlp, "r.yaml")->config() == with(mlp, "dropout", 0.0));

  const auto b = std::get<models::BertModelConfig>(models::check_model_config(with(bert, "id2label", {{"0", "ham"}, {"1", "spam"}}), "r.yaml"));
  CHECK(b.config.num_labels == 2);
  CHECK(b.labels == std::vector<std::string>{"ham", "spam"});
  CHECK(models::build_model(with(bert, "id2label", {{"0", "ham"}, {"1", "spam"}}), "r.yaml")->config()["id2label"]["1"] == "spam");
}
