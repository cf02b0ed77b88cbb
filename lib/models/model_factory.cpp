#include "models/model_factory.h"

#include <functional>
#include <map>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/errors.h"
#include "models/bert/bert.h"
#include "models/cnn.h"
#include "models/mlp.h"
#include "models/model_limits.h"

namespace sparrow::models {

namespace {

// Reads typed fields of a model config and rejects fields nobody asked for.
class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& config, std::string context) : config_(config), context_(std::move(context)) {}

  template <typename T>
  T get(const std::string& key, T fallback) {
    asked_.insert(key);
    if (!config_.contains(key)) return fallback;
    try {
      return config_.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw BadInput(context_ + ": model." + key + " has the wrong type (found " + config_.at(key).dump() + ")");
    }
  }

  // A size: 1 to kMaxModelSize, so that products of sizes cannot overflow before check_parameters.
  int64_t positive(const std::string& key, int64_t fallback) {
    const auto v = get<int64_t>(key, fallback);
    check_model_size(context_ + ": model." + key, v);
    return v;
  }

  // Refuses, before anything is allocated, sizes whose weights would not fit in memory.
  void check_parameters(double parameters) const { check_model_parameters(context_, parameters); }

  const std::string& context() const { return context_; }

  void finish(const std::string& model) const {
    for (const auto& [key, value] : config_.items()) {
      if (key == "name" || asked_.count(key)) continue;
      std::string valid;
      for (const auto& a : asked_) valid += " " + a;
      throw BadInput(context_ + ": unknown field model." + key + " for model '" + model + "'; valid fields:" + valid);
    }
  }

 private:
  const nlohmann::json& config_;
  std::string context_;
  std::set<std::string> asked_;
};

std::shared_ptr<Classifier> make_cnn(ConfigFields& f) {
  CnnOptions o;
  o.in_channels = f.positive("in_channels", o.in_channels);
  o.image_size = f.positive("image_size", o.image_size);
  o.conv1_channels = f.positive("conv1_channels", o.conv1_channels);
  o.conv2_channels = f.positive("conv2_channels", o.conv2_channels);
  o.hidden = f.positive("hidden", o.hidden);
  o.num_classes = f.positive("num_classes", o.num_classes);
  o.dropout = f.get<double>("dropout", o.dropout);
  o.batch_norm = f.get<bool>("batch_norm", o.batch_norm);
  f.finish("cnn");
  const double pooled = static_cast<double>(o.image_size / 4) * static_cast<double>(o.image_size / 4);
  f.check_parameters(9.0 * static_cast<double>(o.in_channels + o.conv2_channels) * static_cast<double>(o.conv1_channels) +
                     (static_cast<double>(o.conv2_channels) * pooled + static_cast<double>(o.num_classes)) *
                         static_cast<double>(o.hidden));
  return std::make_shared<Cnn>(o);
}

std::shared_ptr<Classifier> make_mlp(ConfigFields& f) {
  MlpOptions o;
  o.in_features = f.positive("in_features", o.in_features);
  o.hidden = f.get<std::vector<int64_t>>("hidden", o.hidden);
  o.num_classes = f.positive("num_classes", o.num_classes);
  o.dropout = f.get<double>("dropout", o.dropout);
  f.finish("mlp");
  double parameters = 0, width = static_cast<double>(o.in_features);
  for (const int64_t h : o.hidden) {
    if (h <= 0) throw BadInput(f.context() + ": model.hidden sizes must be > 0, got " + std::to_string(h));
    parameters += width * static_cast<double>(h);
    width = static_cast<double>(h);
  }
  f.check_parameters(parameters + width * static_cast<double>(o.num_classes));
  return std::make_shared<Mlp>(o);
}

// BERT's fields carry Hugging Face's names, so a saved config.json (HF keys plus
// "name": "bert") rebuilds the model through here as well.
std::shared_ptr<Classifier> make_bert(ConfigFields& f) {
  bert::BertConfig c;
  c.vocab_size = f.positive("vocab_size", c.vocab_size);
  c.hidden_size = f.positive("hidden_size", c.hidden_size);
  c.num_hidden_layers = f.positive("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = f.positive("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = f.positive("intermediate_size", c.intermediate_size);
  c.max_position_embeddings = f.positive("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = f.positive("type_vocab_size", c.type_vocab_size);
  // HF's config.json has no num_labels: id2label's size says it.
  const auto id2label = f.get<std::map<std::string, std::string>>("id2label", {});
  c.num_labels = f.positive("num_labels", id2label.empty() ? c.num_labels : static_cast<int64_t>(id2label.size()));
  c.pad_token_id = f.get<int64_t>("pad_token_id", c.pad_token_id);
  c.hidden_dropout_prob = f.get<double>("hidden_dropout_prob", c.hidden_dropout_prob);
  c.attention_probs_dropout_prob = f.get<double>("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  c.layer_norm_eps = f.get<double>("layer_norm_eps", c.layer_norm_eps);
  c.initializer_range = f.get<double>("initializer_range", c.initializer_range);
  c.max_seq_length = f.positive("max_seq_length", c.max_seq_length);
  c.do_lower_case = f.get<bool>("do_lower_case", c.do_lower_case);
  bert::read_pruning_fields(f.get<nlohmann::json>("pruned_heads", {}), f.get<nlohmann::json>("intermediate_sizes", {}), c,
                            f.context() + ": model");
  if (f.get<std::string>("hidden_act", "gelu") != "gelu")
    throw BadInput(f.context() + ": model.hidden_act must be \"gelu\" (exact GELU)");
  if (f.get<std::string>("position_embedding_type", "absolute") != "absolute")
    throw BadInput(f.context() + ": model.position_embedding_type must be \"absolute\"");
  // Read by the train command, not the network: the folder or recipe to start
  // from, and a vocab.txt to use instead of training one.
  f.get<nlohmann::json>("from", {});
  f.get<nlohmann::json>("vocab", {});
  // Bookkeeping keys HF writes; they do not change the network.
  f.get<nlohmann::json>("architectures", {});
  f.get<nlohmann::json>("model_type", {});
  f.get<nlohmann::json>("label2id", {});
  f.finish("bert");
  c.validate(f.context() + ": model");  // includes the parameter count
  auto model = std::make_shared<bert::BertForSequenceClassification>(c);
  for (int64_t i = 0; i < c.num_labels && !id2label.empty(); ++i) {
    const auto it = id2label.find(std::to_string(i));
    if (it == id2label.end()) throw BadInput(f.context() + ": model.id2label has no name for label " + std::to_string(i));
    model->labels[static_cast<size_t>(i)] = it->second;
  }
  return model;
}

}  // namespace

std::shared_ptr<Classifier> build_model(const nlohmann::json& config, const std::string& context) {
  static const std::map<std::string, std::function<std::shared_ptr<Classifier>(ConfigFields&)>> zoo = {
      {"bert", make_bert},
      {"cnn", make_cnn},
      {"mlp", make_mlp},
  };
  const std::string name = config.value("name", "");
  const auto it = zoo.find(name);
  if (it == zoo.end()) {
    std::string valid;
    for (const auto& kv : zoo) valid += " " + kv.first;
    throw BadInput(context + ": unknown model.name '" + name + "'; available:" + valid);
  }
  ConfigFields fields(config, context);
  return it->second(fields);
}

}  // namespace sparrow::models
