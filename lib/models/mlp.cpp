#include "models/mlp.h"

namespace sparrow::models {

Mlp::Mlp(const MlpOptions& o) : options_(o) {
  int64_t in = o.in_features;
  std::vector<int64_t> widths = o.hidden;
  widths.push_back(o.num_classes);
  for (size_t i = 0; i < widths.size(); ++i) {
    layers_.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(in, widths[i])));
    in = widths[i];
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
}

torch::Tensor Mlp::forward(const data::Batch& batch) {
  auto x = batch.inputs.flatten(1);
  for (size_t i = 0; i + 1 < layers_.size(); ++i) x = dropout_->forward(torch::relu(linear(layers_[i], x)));
  return linear(layers_.back(), x);
}

std::vector<std::string> Mlp::prunable_parameters() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < layers_.size(); ++i) names.push_back("fc" + std::to_string(i + 1) + ".weight");
  return names;
}

nlohmann::json Mlp::config() const {
  return {{"name", "mlp"},
          {"in_features", options_.in_features},
          {"hidden", options_.hidden},
          {"num_classes", options_.num_classes},
          {"dropout", options_.dropout}};
}

}  // namespace sparrow::models
