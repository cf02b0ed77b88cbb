#include "models/resnet.h"

namespace sparrow::models {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(bool bottleneck, int64_t in_channels, int64_t planes, int64_t stride)
    : bottleneck_(bottleneck), out_channels_(bottleneck ? planes * 4 : planes) {
  if (bottleneck) {
    conv1_ = register_module("conv1", conv(in_channels, planes, 1, 1));
    bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
    bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    conv3_ = register_module("conv3", conv(planes, out_channels_, 1, 1));
    bn3_ = register_module("bn3", nn::BatchNorm2d(out_channels_));
  } else {
    conv1_ = register_module("conv1", conv(in_channels, planes, 3, stride));
    bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
    bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
  }
  if (stride != 1 || in_channels != out_channels_) {
    down_conv_ = conv(in_channels, out_channels_, 1, stride);
    down_bn_ = nn::BatchNorm2d(out_channels_);
    downsample_ = register_module("downsample", nn::Sequential(down_conv_, down_bn_));
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto y = torch::relu(conv2d_bn(conv1_, bn1_, x));
  if (bottleneck_) {
    y = torch::relu(conv2d_bn(conv2_, bn2_, y));
    y = conv2d_bn(conv3_, bn3_, y);
  } else {
    y = conv2d_bn(conv2_, bn2_, y);
  }
  return torch::relu(y + (downsample_.is_empty() ? x : conv2d_bn(down_conv_, down_bn_, x)));
}

ResNet::ResNet(const ResNetOptions& o) : options_(o) {
  const bool imagenet = o.stem == "imagenet";
  conv1_ = register_module("conv1", conv(o.in_channels, o.width, imagenet ? 7 : 3, imagenet ? 2 : 1));
  bn1_ = register_module("bn1", nn::BatchNorm2d(o.width));
  int64_t channels = o.width;
  for (size_t i = 0; i < o.layers.size(); ++i) {
    const int64_t planes = o.width << i;
    auto stage = nn::Sequential();
    std::vector<ResidualBlock> blocks;
    for (int64_t j = 0; j < o.layers[i]; ++j) {
      blocks.emplace_back(o.block == "bottleneck", channels, planes, j == 0 && i > 0 ? 2 : 1);
      stage->push_back(blocks.back());
      channels = blocks.back()->out_channels();
    }
    register_module("layer" + std::to_string(i + 1), stage);
    stages_.push_back(std::move(blocks));
  }
  fc_ = register_module("fc", nn::Linear(channels, o.num_classes));
  // torchvision's initialisation: He-normal convs (fan out), BatchNorms at identity.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  }
}

torch::Tensor ResNet::forward(const data::Batch& batch) {
  auto x = torch::relu(conv2d_bn(conv1_, bn1_, batch.inputs));
  if (options_.stem == "imagenet") x = torch::max_pool2d(x, 3, 2, 1);
  for (auto& stage : stages_)
    for (auto& block : stage) x = block->forward(x);
  return linear(fc_, torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

std::vector<std::string> ResNet::prunable_parameters() const {
  std::vector<std::string> names;
  for (const auto& p : named_parameters())
    if (p.value().dim() == 4 || p.key() == "fc.weight") names.push_back(p.key());
  return names;
}

nlohmann::json ResNet::config() const {
  return {{"name", "resnet"},         {"block", options_.block},
          {"layers", options_.layers}, {"width", options_.width},
          {"stem", options_.stem},     {"in_channels", options_.in_channels},
          {"image_size", options_.image_size}, {"num_classes", options_.num_classes}};
}

}  // namespace sparrow::models
