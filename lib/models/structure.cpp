#include "models/structure.h"

#include <algorithm>

#include "core/errors.h"
#include "models/classifier.h"

namespace sparrow::models {

const char* to_string(StructureKind kind) {
  switch (kind) {
    case StructureKind::Heads: return "attention heads";
    case StructureKind::Neurons: return "neurons";
    case StructureKind::Channels: return "channels";
    case StructureKind::Layers: return "layers";
  }
  return "units";
}

torch::Tensor kept_indices(int64_t units, int64_t unit_size, const std::vector<int64_t>& removed) {
  std::vector<int64_t> keep;
  for (int64_t u = 0; u < units; ++u)
    if (std::find(removed.begin(), removed.end(), u) == removed.end())
      for (int64_t i = 0; i < unit_size; ++i) keep.push_back(u * unit_size + i);
  return torch::tensor(keep, torch::kInt64);
}

namespace {
torch::Tensor pick(torch::Tensor t, int64_t dim, const torch::Tensor& keep) {
  return keep.defined() ? t.index_select(dim, keep) : t;
}
}  // namespace

torch::nn::Linear shrink_linear(const torch::nn::Linear& layer, const torch::Tensor& keep_out, const torch::Tensor& keep_in) {
  torch::NoGradGuard no_grad;
  const auto w = pick(pick(layer->weight, 0, keep_out), 1, keep_in);
  const bool bias = layer->options.bias();
  torch::nn::Linear out(torch::nn::LinearOptions(w.size(1), w.size(0)).bias(bias));
  out->weight.copy_(w);
  if (bias) out->bias.copy_(pick(layer->bias, 0, keep_out));
  return out;
}

torch::nn::Conv2d shrink_conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& keep_out, const torch::Tensor& keep_in) {
  torch::NoGradGuard no_grad;
  const auto w = pick(pick(layer->weight, 0, keep_out), 1, keep_in);
  const auto& o = layer->options;
  const bool bias = o.bias();
  torch::nn::Conv2d out(torch::nn::Conv2dOptions(w.size(1), w.size(0), o.kernel_size())
                            .stride(o.stride())
                            .padding(o.padding())
                            .dilation(o.dilation())
                            .groups(o.groups())
                            .bias(bias));
  out->weight.copy_(w);
  if (bias) out->bias.copy_(pick(layer->bias, 0, keep_out));
  return out;
}

torch::nn::BatchNorm2d shrink_batch_norm(const torch::nn::BatchNorm2d& layer, const torch::Tensor& keep) {
  torch::NoGradGuard no_grad;
  torch::nn::BatchNorm2d out(torch::nn::BatchNorm2dOptions(keep.numel()).eps(layer->options.eps()).momentum(layer->options.momentum()));
  out->weight.copy_(pick(layer->weight, 0, keep));
  out->bias.copy_(pick(layer->bias, 0, keep));
  out->running_mean.copy_(pick(layer->running_mean, 0, keep));
  out->running_var.copy_(pick(layer->running_var, 0, keep));
  out->num_batches_tracked.copy_(layer->num_batches_tracked);
  out->train(layer->is_training());
  return out;
}

void Classifier::remove_units(StructureKind kind, const std::string& group, const std::vector<int64_t>&) {
  throw InternalError(std::string("this model cannot remove ") + to_string(kind) + " (group '" + group + "')");
}

}  // namespace sparrow::models
