#include "models/cnn.h"

namespace sparrow::models {

Cnn::Cnn(const CnnOptions& o) : options_(o) {
  namespace nn = torch::nn;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.conv1_channels, 3).padding(1)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(o.conv1_channels, o.conv2_channels, 3).padding(1)));
  const int64_t pooled = o.image_size / 4;
  fc1_ = register_module("fc1", nn::Linear(o.conv2_channels * pooled * pooled, o.hidden));
  fc2_ = register_module("fc2", nn::Linear(o.hidden, o.num_classes));
  dropout_ = register_module("dropout", nn::Dropout(o.dropout));
}

torch::Tensor Cnn::forward(const data::Batch& batch) {
  auto x = torch::max_pool2d(torch::relu(conv2d(conv1_, batch.inputs)), 2);
  x = torch::max_pool2d(torch::relu(conv2d(conv2_, x)), 2);
  x = dropout_->forward(torch::relu(linear(fc1_, x.flatten(1))));
  return linear(fc2_, x);
}

std::vector<std::string> Cnn::prunable_parameters() const {
  return {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"};
}

nlohmann::json Cnn::config() const {
  return {{"name", "cnn"},
          {"in_channels", options_.in_channels},
          {"image_size", options_.image_size},
          {"conv1_channels", options_.conv1_channels},
          {"conv2_channels", options_.conv2_channels},
          {"hidden", options_.hidden},
          {"num_classes", options_.num_classes},
          {"dropout", options_.dropout}};
}

}  // namespace sparrow::models
