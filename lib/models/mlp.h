#pragma once
// A multi-layer perceptron over flattened inputs: Linear + ReLU per hidden
// layer, then a linear classifier. Layers are named fc1, fc2, ...
#include "models/classifier.h"

namespace sparrow::models {

struct MlpOptions {
  int64_t in_features = 784;
  std::vector<int64_t> hidden = {256, 128};
  int64_t num_classes = 10;
  double dropout = 0.0;
};

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
