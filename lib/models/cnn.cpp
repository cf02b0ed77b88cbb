#include "models/cnn.h"

#include "core/errors.h"

namespace sparrow::models {

Cnn::Cnn(const CnnOptions& o) : options_(o) {
  namespace nn = torch::nn;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.conv1_channels, 3).padding(1)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(o.conv1_channels, o.conv2_channels, 3).padding(1)));
  if (o.batch_norm) {
    bn1_ = register_module("bn1", nn::BatchNorm2d(o.conv1_channels));
    bn2_ = register_module("bn2", nn::BatchNorm2d(o.conv2_channels));
  }
  const int64_t pooled = o.image_size / 4;
  fc1_ = register_module("fc1", nn::Linear(o.conv2_channels * pooled * pooled, o.hidden));
  fc2_ = register_module("fc2", nn::Linear(o.hidden, o.num_classes));
  dropout_ = register_module("dropout", nn::Dropout(o.dropout));
}

torch::Tensor Cnn::forward(const data::Batch& batch) {
  const auto conv = [&](const torch::nn::Conv2d& c, const torch::nn::BatchNorm2d& bn, const torch::Tensor& in) {
    return options_.batch_norm ? conv2d_bn(c, bn, in) : conv2d(c, in);
  };
  auto x = torch::max_pool2d(torch::relu(conv(conv1_, bn1_, batch.inputs)), 2);
  x = torch::max_pool2d(torch::relu(conv(conv2_, bn2_, x)), 2);
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
          {"dropout", options_.dropout},
          {"batch_norm", options_.batch_norm}};
}

std::vector<StructureGroup> Cnn::structure_groups(StructureKind kind) const {
  // conv2's channel c feeds fc1 through its pooled map, flattened channel-major.
  const int64_t pooled = (options_.image_size / 4) * (options_.image_size / 4);
  if (kind == StructureKind::Channels)
    return {{"conv1", options_.conv1_channels, {{"conv1.weight", 0, 1}, {"conv1.bias", 0, 1}, {"conv2.weight", 1, 1}}, {}},
            {"conv2", options_.conv2_channels, {{"conv2.weight", 0, 1}, {"conv2.bias", 0, 1}, {"fc1.weight", 1, pooled}}, {}}};
  if (kind == StructureKind::Neurons)
    return {{"fc1", options_.hidden, {{"fc1.weight", 0, 1}, {"fc1.bias", 0, 1}, {"fc2.weight", 1, 1}}, {}}};
  return {};
}

void Cnn::remove_units(StructureKind kind, const std::string& group, const std::vector<int64_t>& units) {
  const int64_t pooled = (options_.image_size / 4) * (options_.image_size / 4);
  if (kind == StructureKind::Channels && group == "conv1") {
    const auto keep = kept_indices(options_.conv1_channels, 1, units);
    conv1_ = replace_module("conv1", shrink_conv2d(conv1_, keep, {}));
    conv2_ = replace_module("conv2", shrink_conv2d(conv2_, {}, keep));
    if (options_.batch_norm) bn1_ = replace_module("bn1", shrink_batch_norm(bn1_, keep));
    options_.conv1_channels = keep.numel();
  } else if (kind == StructureKind::Channels && group == "conv2") {
    const auto keep = kept_indices(options_.conv2_channels, 1, units);
    conv2_ = replace_module("conv2", shrink_conv2d(conv2_, keep, {}));
    if (options_.batch_norm) bn2_ = replace_module("bn2", shrink_batch_norm(bn2_, keep));
    fc1_ = replace_module("fc1", shrink_linear(fc1_, {}, kept_indices(options_.conv2_channels, pooled, units)));
    options_.conv2_channels -= static_cast<int64_t>(units.size());
  } else if (kind == StructureKind::Neurons && group == "fc1") {
    const auto keep = kept_indices(options_.hidden, 1, units);
    fc1_ = replace_module("fc1", shrink_linear(fc1_, keep, {}));
    fc2_ = replace_module("fc2", shrink_linear(fc2_, {}, keep));
    options_.hidden = keep.numel();
  } else {
    throw InternalError("cnn: cannot remove " + std::string(to_string(kind)) + " of '" + group + "'");
  }
}

}  // namespace sparrow::models
