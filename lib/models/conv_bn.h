#pragma once
// A conv followed by BatchNorm, as the engine runs it: one conv whose weight
// and bias take in the BatchNorm's evaluation-mode affine map. The trainer's
// quantization-aware training and the exporter fold with this one function, so
// both quantize the very same FP32 weights.
#include <torch/torch.h>

namespace sparrow::models {

// gamma / sqrt(running_var + eps), per channel: [C].
torch::Tensor batch_norm_scale(const torch::nn::BatchNorm2dImpl& bn);

struct FoldedConv {
  torch::Tensor weight;  // [out, in, kh, kw]: W * scale[out]
  torch::Tensor bias;    // [out]: (b - running_mean) * scale + beta
};

// Differentiable in the conv's weight and bias and the BatchNorm's gamma and beta.
FoldedConv fold_batch_norm(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn);

}  // namespace sparrow::models
