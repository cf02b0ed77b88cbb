#include "models/linear_hook.h"

#include <cmath>

namespace sparrow::models {

namespace {
thread_local LinearHook* g_active_hook = nullptr;
}  // namespace

torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x) {
  return g_active_hook ? g_active_hook->linear(*layer, x) : layer->forward(x);
}

torch::Tensor conv2d(torch::nn::Conv2d layer, const torch::Tensor& x) {
  return g_active_hook ? g_active_hook->conv2d(*layer, x) : layer->forward(x);
}

torch::Tensor conv2d_bn(torch::nn::Conv2d conv, torch::nn::BatchNorm2d bn, const torch::Tensor& x) {
  return g_active_hook ? g_active_hook->conv2d_bn(*conv, *bn, x) : bn->forward(conv->forward(x));
}

torch::Tensor attention_f32(const AttentionInputs& in, const std::function<torch::Tensor(const torch::Tensor&)>& on_probs) {
  auto scores = torch::matmul(in.q, in.k.transpose(-1, -2)) / std::sqrt(static_cast<double>(in.head_size));
  if (in.mask_bias.defined()) scores = scores + in.mask_bias;
  auto probs = torch::softmax(scores, -1);
  if (on_probs) probs = on_probs(probs);
  if (!in.dropout.is_empty()) probs = torch::nn::Dropout(in.dropout)->forward(probs);
  return torch::matmul(probs, in.v);
}

torch::Tensor attention(const torch::nn::Module& block, const AttentionInputs& in) {
  return g_active_hook ? g_active_hook->attention(block, in) : attention_f32(in);
}

ActiveHookScope::ActiveHookScope(LinearHook* hook) : previous_(g_active_hook) { g_active_hook = hook; }
ActiveHookScope::~ActiveHookScope() { g_active_hook = previous_; }

}  // namespace sparrow::models
