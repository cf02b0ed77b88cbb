#pragma once
// Residual networks with torchvision's module names, so that a torchvision ResNet's state dict (saved as
// model.safetensors beside a config.json naming "resnet") loads as it is: conv1, bn1, layer<i>.<j>.conv<k>,
// layer<i>.<j>.bn<k>, layer<i>.<j>.downsample.{0,1}, fc. Blocks are basic (two 3x3 convs, ResNet-18/34) or
// bottleneck (1x1, 3x3, 1x1 with 4x expansion, the stride on the 3x3 as torchvision's "v1.5"). Every conv is
// followed by a BatchNorm and has no bias; the exporter folds each BatchNorm into its conv.
#include "models/classifier.h"
#include "models/model_config.h"  // ResNetOptions

namespace sparrow::models {

// One residual block: relu(convs(x) + shortcut(x)), the shortcut a 1x1 conv + BatchNorm when the stride or
// the width changes.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(bool bottleneck, int64_t in_channels, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_channels() const { return out_channels_; }
  bool has_downsample() const { return !downsample_.is_empty(); }
  bool bottleneck() const { return bottleneck_; }

 private:
  bool bottleneck_;
  int64_t out_channels_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, down_conv_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr}, down_bn_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResNet : public Classifier {
 public:
  explicit ResNet(const ResNetOptions& options);
  torch::Tensor forward(const data::Batch& batch) override;
  std::vector<std::string> prunable_parameters() const override;
  nlohmann::json config() const override;

 private:
  ResNetOptions options_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<std::vector<ResidualBlock>> stages_;  // layer1 .. layerN
  torch::nn::Linear fc_{nullptr};
};

}  // namespace sparrow::models
