#pragma once
// A multi-layer perceptron over flattened inputs: Linear + ReLU per hidden
// layer, then a linear classifier. Layers are named fc1, fc2, ...
#include "models/classifier.h"
#include "models/model_config.h"  // MlpOptions

namespace sparrow::models {

class Mlp : public Classifier {
 public:
  explicit Mlp(const MlpOptions& options);
  torch::Tensor forward(const data::Batch& batch) override;
  std::vector<std::string> prunable_parameters() const override;
  nlohmann::json config() const override;

 private:
  MlpOptions options_;
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Dropout dropout_{nullptr};
};

}  // namespace sparrow::models
