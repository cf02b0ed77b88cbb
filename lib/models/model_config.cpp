#include "models/model_config.h"

#include <functional>
#include <map>
#include <set>

#include "core/errors.h"
#include "models/config_field.h"
#include "models/model_limits.h"

namespace sparrow::models {

namespace {

// Reads typed fields of a model config (named model.<key> in errors) and rejects fields nobody asked for.
class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& config, std::string context) : config_(config), context_(std::move(context)) {}

  // The field as read_field reads it; `fallback` when absent.
  template <typename T>
  T get(const std::string& key, T fallback) {
    asked_.insert(key);
    return config_.contains(key) ? read_field<T>(config_.at(key), name(key)) : fallback;
  }

  bool has(const std::string& key) const { return config_.contains(key); }

  // The field as it is, for readers that check it themselves; null when absent.
  nlohmann::json raw(const std::string& key) {
    asked_.insert(key);
    return config_.contains(key) ? config_.at(key) : nlohmann::json();
  }

  int64_t size(const std::string& key, int64_t fallback) { return integer_in(key, fallback, 1, kMaxModelSize); }

  int64_t integer_in(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
    const auto v = get<int64_t>(key, fallback);
    check_model_range(name(key), v, lo, hi);
    return v;
  }

  double probability(const std::string& key, double fallback) {
    const auto p = get<double>(key, fallback);
    check_probability(name(key), p);
    return p;
  }

  // Refuses, before anything is allocated, sizes whose weights would not fit in memory.
  void check_parameters(double parameters) const { check_model_parameters(context_, parameters); }

  std::string name(const std::string& key) const { return context_ + ": model." + key; }
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

ModelConfig check_cnn(ConfigFields& f) {
  CnnOptions o;
  o.in_channels = f.size("in_channels", o.in_channels);
  o.image_size = f.integer_in("image_size", o.image_size, 4, kMaxModelSize);  // two 2x2 poolings leave a pixel
  o.conv1_channels = f.size("conv1_channels", o.conv1_channels);
  o.conv2_channels = f.size("conv2_channels", o.conv2_channels);
  o.hidden = f.size("hidden", o.hidden);
  o.num_classes = f.size("num_classes", o.num_classes);
  o.dropout = f.probability("dropout", o.dropout);
  o.batch_norm = f.get<bool>("batch_norm", o.batch_norm);
  f.finish("cnn");
  const double pooled = static_cast<double>(o.image_size / 4) * static_cast<double>(o.image_size / 4);
  f.check_parameters(9.0 * static_cast<double>(o.in_channels + o.conv2_channels) * static_cast<double>(o.conv1_channels) +
                     (static_cast<double>(o.conv2_channels) * pooled + static_cast<double>(o.num_classes)) *
                         static_cast<double>(o.hidden));
  return o;
}

ModelConfig check_resnet(ConfigFields& f) {
  ResNetOptions o;
  o.block = f.get<std::string>("block", o.block);
  if (o.block != "basic" && o.block != "bottleneck")
    throw BadInput(f.name("block") + " must be \"basic\" or \"bottleneck\", found \"" + o.block + "\"");
  o.stem = f.get<std::string>("stem", o.stem);
  if (o.stem != "imagenet" && o.stem != "small")
    throw BadInput(f.name("stem") + " must be \"imagenet\" or \"small\", found \"" + o.stem + "\"");
  const nlohmann::json layers = f.raw("layers");
  if (!layers.is_null()) {
    if (!layers.is_array() || layers.empty() || layers.size() > 8)
      throw BadInput(f.name("layers") + " must be a list of 1 to 8 block counts, found " + shown(layers));
    o.layers.clear();
    for (const auto& blocks : layers) {
      o.layers.push_back(read_field<int64_t>(blocks, f.name("layers")));
      check_model_range(f.name("layers"), o.layers.back(), 1, kMaxModelLayers);
    }
  }
  o.width = f.size("width", o.width);
  o.in_channels = f.size("in_channels", o.in_channels);
  o.image_size = f.size("image_size", o.image_size);
  o.num_classes = f.size("num_classes", o.num_classes);
  f.raw("from");  // read by the train command: the folder to start from
  f.finish("resnet");
  const double expansion = o.block == "bottleneck" ? 4.0 : 1.0;
  check_model_size(f.name("width") + " * 2^(stages - 1) * expansion",
                   o.width * (int64_t{1} << (o.layers.size() - 1)) * static_cast<int64_t>(expansion));
  // The weights, stage by stage: per block about (9 or 1 + 9 + 1) * planes^2 * expansion multiply-adds.
  double parameters = 49.0 * static_cast<double>(o.in_channels * o.width), in = static_cast<double>(o.width);
  for (size_t i = 0; i < o.layers.size(); ++i) {
    const double planes = static_cast<double>(o.width << i), out = planes * expansion;
    const double block = o.block == "bottleneck" ? in * planes + 9.0 * planes * planes + planes * out : 9.0 * planes * (in + planes);
    parameters += block + in * out + static_cast<double>(o.layers[i] - 1) * (o.block == "bottleneck" ? 2.0 * out * planes + 9.0 * planes * planes
                                                                                                      : 18.0 * planes * planes);
    in = out;
  }
  f.check_parameters(parameters + in * static_cast<double>(o.num_classes));
  return o;
}

ModelConfig check_mlp(ConfigFields& f) {
  MlpOptions o;
  o.in_features = f.size("in_features", o.in_features);
  const nlohmann::json hidden = f.raw("hidden");
  if (!hidden.is_null()) {
    if (!hidden.is_array() || hidden.size() > static_cast<size_t>(kMaxModelLayers))
      throw BadInput(f.name("hidden") + " must be a list of at most " + std::to_string(kMaxModelLayers) +
                     " layer widths, found " + (hidden.is_array() ? std::to_string(hidden.size()) + " entries" : shown(hidden)));
    o.hidden.clear();
    for (const auto& width : hidden) {
      o.hidden.push_back(read_field<int64_t>(width, f.name("hidden")));
      check_model_size(f.name("hidden"), o.hidden.back());
    }
  }
  o.num_classes = f.size("num_classes", o.num_classes);
  o.dropout = f.probability("dropout", o.dropout);
  f.finish("mlp");
  double parameters = 0, width = static_cast<double>(o.in_features);
  for (const int64_t h : o.hidden) {
    parameters += width * static_cast<double>(h);
    width = static_cast<double>(h);
  }
  f.check_parameters(parameters + width * static_cast<double>(o.num_classes));
  return o;
}

// BERT's fields carry Hugging Face's names, so a saved config.json (HF keys plus "name": "bert") is read
// through here as well.
ModelConfig check_bert(ConfigFields& f) {
  BertModelConfig m;
  bert::BertConfig& c = m.config;
  // Ranges are checked by c.validate() below, the one home of BERT's rules (HF folders are read through it too).
  c.vocab_size = f.get<int64_t>("vocab_size", c.vocab_size);
  c.hidden_size = f.get<int64_t>("hidden_size", c.hidden_size);
  c.num_hidden_layers = f.get<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = f.get<int64_t>("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = f.get<int64_t>("intermediate_size", c.intermediate_size);
  c.max_position_embeddings = f.get<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = f.get<int64_t>("type_vocab_size", c.type_vocab_size);
  // HF's config.json has no num_labels: id2label's size says it.
  const nlohmann::json id2label = f.raw("id2label");
  if (!id2label.is_null() && !id2label.is_object())
    throw BadInput(f.name("id2label") + " must be an object {\"0\": name, ...}, found " + shown(id2label));
  const auto named = static_cast<int64_t>(id2label.is_null() ? 0 : id2label.size());
  c.num_labels = f.get<int64_t>("num_labels", named > 0 ? named : c.num_labels);
  c.pad_token_id = f.get<int64_t>("pad_token_id", c.pad_token_id);
  c.hidden_dropout_prob = f.get<double>("hidden_dropout_prob", c.hidden_dropout_prob);
  c.attention_probs_dropout_prob = f.get<double>("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  c.layer_norm_eps = f.get<double>("layer_norm_eps", c.layer_norm_eps);
  c.initializer_range = f.get<double>("initializer_range", c.initializer_range);
  c.max_seq_length = f.get<int64_t>("max_seq_length", c.max_seq_length);
  c.do_lower_case = f.get<bool>("do_lower_case", c.do_lower_case);
  bert::read_pruning_fields(f.raw("pruned_heads"), f.raw("intermediate_sizes"), c, f.context() + ": model");
  if (f.get<std::string>("hidden_act", "gelu") != "gelu")
    throw BadInput(f.context() + ": model.hidden_act must be \"gelu\" (exact GELU)");
  if (f.get<std::string>("position_embedding_type", "absolute") != "absolute")
    throw BadInput(f.context() + ": model.position_embedding_type must be \"absolute\"");
  // Read by the train command, not the network: the folder or recipe to start
  // from, and a vocab.txt to use instead of training one.
  f.raw("from");
  f.raw("vocab");
  // Bookkeeping keys HF writes; they do not change the network.
  f.raw("architectures");
  f.raw("model_type");
  f.raw("label2id");
  f.finish("bert");
  c.validate(f.context() + ": model");  // includes the parameter count
  for (int64_t i = 0; i < c.num_labels && named > 0; ++i) {
    const std::string key = std::to_string(i);
    if (!id2label.contains(key)) throw BadInput(f.context() + ": model.id2label has no name for label " + key);
    m.labels.push_back(read_field<std::string>(id2label.at(key), f.name("id2label." + key)));
  }
  return m;
}

// Llama's fields are Hugging Face's LlamaConfig keys, so a saved config.json reads through here as well;
// llama::config_from_hf is the one home of their rules.
ModelConfig check_llama(ConfigFields& f) {
  nlohmann::json hf = nlohmann::json::object();
  for (const auto& key : llama::hf_config_keys())
    if (f.has(key)) hf[key] = f.raw(key);
  // Read by the train command, not the network: the folder or recipe to start from, and a tokenizer.json to
  // use instead of training one.
  f.raw("from");
  f.raw("tokenizer");
  f.finish("llama");
  return llama::config_from_hf(hf, f.context() + ": model");
}

}  // namespace

ModelConfig check_model_config(const nlohmann::json& config, const std::string& context) {
  static const std::map<std::string, std::function<ModelConfig(ConfigFields&)>> zoo = {
      {"bert", check_bert},
      {"cnn", check_cnn},
      {"llama", check_llama},
      {"mlp", check_mlp},
      {"resnet", check_resnet},
  };
  if (!config.is_object()) throw BadInput(context + ": model must be a mapping of fields, found " + shown(config));
  const std::string name = config.contains("name") ? read_field<std::string>(config.at("name"), context + ": model.name") : "";
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
