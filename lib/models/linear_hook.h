#pragma once
// Models compute every linear and conv layer through linear() / conv2d()
// below, and attention through attention(). While a model runs under Classifier::logits(), its hook (if any)
// sees each of those calls and may compute them differently: this is how
// quantization-aware training fake-quantizes layers without the models
// knowing about it.
#include <torch/torch.h>

#include <functional>

namespace sparrow::models {

// One block's scaled dot-product attention: q, k, v [B, heads, L, head_size]; mask_bias (undefined for none)
// is added to the scores, dropout (may be empty) applied to the probabilities.
struct AttentionInputs {
  torch::Tensor q, k, v, mask_bias;
  int64_t head_size = 0;
  torch::nn::Dropout dropout{nullptr};
};
// softmax(q kᵀ / sqrt(head_size) + mask_bias) v in FP32: what a block computes without a hook. on_probs (if set)
// transforms the probabilities before the dropout (quantization-aware training fake-quantizes them there).
torch::Tensor attention_f32(const AttentionInputs& in, const std::function<torch::Tensor(const torch::Tensor&)>& on_probs = {});

class LinearHook {
 public:
  virtual ~LinearHook() = default;
  virtual torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) = 0;
  virtual torch::Tensor conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) = 0;
  // A conv and the BatchNorm after it; by default the two one after the other.
  virtual torch::Tensor conv2d_bn(const torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
    return bn.forward(conv2d(conv, x));
  }
  // The attention of `block` (a module the model names in Classifier::attention_blocks()).
  virtual torch::Tensor attention(const torch::nn::Module& block, const AttentionInputs& in) { return attention_f32(in); }
  // A training step in which this process has no items (in data-parallel training, a last batch smaller
  // than the world): a hook whose layers take part in collectives joins them here without a forward.
  virtual void step_without_items() {}
};

torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x);
torch::Tensor conv2d(torch::nn::Conv2d layer, const torch::Tensor& x);
torch::Tensor conv2d_bn(torch::nn::Conv2d conv, torch::nn::BatchNorm2d bn, const torch::Tensor& x);
torch::Tensor attention(const torch::nn::Module& block, const AttentionInputs& in);

// Makes `hook` the one linear()/conv2d() consult on this thread while alive.
class ActiveHookScope {
 public:
  explicit ActiveHookScope(LinearHook* hook);
  ~ActiveHookScope();
  ActiveHookScope(const ActiveHookScope&) = delete;
  ActiveHookScope& operator=(const ActiveHookScope&) = delete;

 private:
  LinearHook* previous_;
};

}  // namespace sparrow::models
