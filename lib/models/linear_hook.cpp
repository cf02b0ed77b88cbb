#include "models/linear_hook.h"

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

ActiveHookScope::ActiveHookScope(LinearHook* hook) : previous_(g_active_hook) { g_active_hook = hook; }
ActiveHookScope::~ActiveHookScope() { g_active_hook = previous_; }

}  // namespace sparrow::models
