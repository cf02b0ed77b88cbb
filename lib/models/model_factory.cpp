#include "models/model_factory.h"

#include <functional>
#include <map>
#include <set>

#include "core/errors.h"
#include "models/cnn.h"
#include "models/mlp.h"

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

  int64_t positive(const std::string& key, int64_t fallback) {
    const auto v = get<int64_t>(key, fallback);
    if (v <= 0) throw BadInput(context_ + ": model." + key + " must be > 0, got " + std::to_string(v));
    return v;
  }

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
  f.finish("cnn");
  return std::make_shared<Cnn>(o);
}

std::shared_ptr<Classifier> make_mlp(ConfigFields& f) {
  MlpOptions o;
  o.in_features = f.positive("in_features", o.in_features);
  o.hidden = f.get<std::vector<int64_t>>("hidden", o.hidden);
  o.num_classes = f.positive("num_classes", o.num_classes);
  o.dropout = f.get<double>("dropout", o.dropout);
  f.finish("mlp");
  return std::make_shared<Mlp>(o);
}

}  // namespace

std::shared_ptr<Classifier> build_model(const nlohmann::json& config, const std::string& context) {
  static const std::map<std::string, std::function<std::shared_ptr<Classifier>(ConfigFields&)>> zoo = {
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
