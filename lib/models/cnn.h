#pragma once
// A small CNN for 28x28 greyscale images: two 3x3 conv + ReLU + 2x2 max-pool
// stages, then two linear layers. With batch_norm, each conv is followed by a
// BatchNorm (conv -> BN -> ReLU); the exporter folds it into the conv.
#include "models/classifier.h"
#include "models/model_config.h"  // CnnOptions

namespace sparrow::models {

class Cnn : public Classifier {
 public:
  explicit Cnn(const CnnOptions& options);
  torch::Tensor forward(const data::Batch& batch) override;
  std::vector<std::string> prunable_parameters() const override;
  nlohmann::json config() const override;
  // Conv channels (groups conv1, conv2) and the hidden neurons of fc1 (group fc1).
  std::vector<StructureGroup> structure_groups(StructureKind kind) const override;
  void remove_units(StructureKind kind, const std::string& group, const std::vector<int64_t>& units) override;

 private:
  CnnOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};  // with batch_norm only
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

}  // namespace sparrow::models
