#include "models/conv_bn.h"

namespace sparrow::models {

torch::Tensor batch_norm_scale(const torch::nn::BatchNorm2dImpl& bn) {
  return bn.weight / torch::sqrt(bn.running_var + bn.options.eps());
}

FoldedConv fold_batch_norm(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn) {
  const auto scale = batch_norm_scale(bn);
  // torchvision's convs before a BatchNorm have no bias: theirs counts as zero.
  const auto shifted = conv.bias.defined() ? conv.bias - bn.running_mean : -bn.running_mean;
  return {conv.weight * scale.view({-1, 1, 1, 1}), shifted * scale + bn.bias};
}

}  // namespace sparrow::models
