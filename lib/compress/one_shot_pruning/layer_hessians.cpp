#include "compress/one_shot_pruning/layer_hessians.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/errors.h"

namespace sparrow::compress {

namespace {

namespace F = torch::nn::functional;

// Thrown by the hook once every layer it collects for has seen its input: the rest of the forward pass
// would compute nothing the calibration needs.
struct InputsCollected {};

// Sums X^T X per layer; computes every layer as it is (no other hook runs meanwhile).
class HessianHook : public models::LinearHook {
 public:
  explicit HessianHook(const std::map<const torch::nn::LinearImpl*, std::string>& layers) : layers_(layers) {}

  torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) override {
    const auto it = layers_.find(&layer);
    if (it != layers_.end() && seen_.insert(&layer).second) {
      auto rows = x.detach().reshape({-1, x.size(-1)}).to(torch::kFloat64);
      // A token model's [B, T, in] input: padding positions are no input the layer has to reproduce.
      if (tokens_.defined() && rows.size(0) == tokens_.size(0)) rows = rows.index({tokens_});
      auto& sum = sums_[it->second];
      if (!sum.defined()) sum = torch::zeros({rows.size(1), rows.size(1)}, rows.options());
      sum.addmm_(rows.t(), rows);
      counts_[it->second] += rows.size(0);
      if (seen_.size() == layers_.size()) throw InputsCollected{};
    }
    return F::linear(x, layer.weight, layer.bias);
  }
  torch::Tensor conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) override {
    return const_cast<torch::nn::Conv2dImpl&>(layer).forward(x);  // forward() is not const but changes nothing
  }
  // `attention_mask` [B, T] (undefined for images): the positions whose input rows count.
  void start_batch(const torch::Tensor& attention_mask) {
    seen_.clear();
    tokens_ = attention_mask.defined() ? attention_mask.reshape({-1}).to(torch::kBool) : torch::Tensor();
  }
  // 2 X^T X / n of a layer; undefined when it saw no input.
  torch::Tensor hessian(const std::string& name) const {
    const auto it = sums_.find(name);
    return it == sums_.end() ? torch::Tensor() : it->second * (2.0 / static_cast<double>(counts_.at(name)));
  }
  int64_t rows(const std::string& name) const {
    const auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  const std::map<const torch::nn::LinearImpl*, std::string>& layers_;
  std::set<const torch::nn::LinearImpl*> seen_;
  torch::Tensor tokens_;
  std::map<std::string, torch::Tensor> sums_;
  std::map<std::string, int64_t> counts_;
};

// Records the order in which linear layers first run.
class OrderHook : public models::LinearHook {
 public:
  torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) override {
    if (std::find(order.begin(), order.end(), &layer) == order.end()) order.push_back(&layer);
    return F::linear(x, layer.weight, layer.bias);
  }
  torch::Tensor conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) override {
    return const_cast<torch::nn::Conv2dImpl&>(layer).forward(x);
  }
  std::vector<const torch::nn::LinearImpl*> order;
};

// Puts the model's own hook back however the calibration ends.
class HookSwap {
 public:
  HookSwap(models::Classifier& model, std::shared_ptr<models::LinearHook> hook) : model_(model), saved_(model.linear_hook()) {
    model_.set_linear_hook(std::move(hook));
  }
  ~HookSwap() { model_.set_linear_hook(saved_); }
  HookSwap(const HookSwap&) = delete;
  HookSwap& operator=(const HookSwap&) = delete;

 private:
  models::Classifier& model_;
  std::shared_ptr<models::LinearHook> saved_;
};

void run_batch(models::Classifier& model, const data::Batch& batch) {
  try {
    (void)model.logits(batch);
  } catch (const InputsCollected&) {
  }
}

}  // namespace

std::string layer_block(const std::string& module) {
  size_t start = 0;
  while (start <= module.size()) {
    size_t end = module.find('.', start);
    if (end == std::string::npos) end = module.size();
    const auto part = module.substr(start, end - start);
    if (!part.empty() && std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); }))
      return module.substr(0, end);
    start = end + 1;
  }
  return module;
}

void prune_with_hessians(models::Classifier& model, const std::vector<data::Batch>& batches,
                         const std::vector<std::string>& weights, bool sequential, const std::string& location,
                         const LayerPruner& prune) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) modules[item.key()] = item.value();
  std::map<const torch::nn::LinearImpl*, std::string> selected;  // layer -> its weight's name
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : model.named_parameters()) params[p.key()] = p.value();
  for (const auto& name : weights) {
    const auto dot = name.rfind('.');
    const auto it = dot == std::string::npos ? modules.end() : modules.find(name.substr(0, dot));
    const auto* layer = it == modules.end() ? nullptr : it->second->as<torch::nn::Linear>();
    if (!layer || name.substr(dot + 1) != "weight")
      throw BadInput(location + ": '" + name + "' is not the weight of a linear layer; one-shot pruning prunes linear "
                     "layers (set targets to them, or ignore this one)");
    selected[layer] = name;
  }

  // The order layers run in, from the first batch.
  auto order_hook = std::make_shared<OrderHook>();
  {
    HookSwap swap(model, order_hook);
    (void)model.logits(batches.front());
  }
  std::vector<std::vector<const torch::nn::LinearImpl*>> blocks;
  std::string last_block;
  for (const auto* layer : order_hook->order) {
    const auto it = selected.find(layer);
    if (it == selected.end()) continue;
    const std::string block = sequential ? layer_block(it->second.substr(0, it->second.rfind('.'))) : "";
    if (blocks.empty() || block != last_block) blocks.emplace_back();
    blocks.back().push_back(layer);
    last_block = block;
  }
  for (const auto& [layer, name] : selected)
    if (std::find(order_hook->order.begin(), order_hook->order.end(), layer) == order_hook->order.end())
      spdlog::warn("{}: {} never runs in a forward pass of the model; left as it is", location, name);

  for (const auto& block : blocks) {
    std::map<const torch::nn::LinearImpl*, std::string> layers;
    for (const auto* layer : block) layers[layer] = selected.at(layer);
    auto hook = std::make_shared<HessianHook>(layers);
    {
      HookSwap swap(model, hook);
      for (const auto& batch : batches) {
        hook->start_batch(batch.attention_mask);
        run_batch(model, batch);
      }
    }
    for (const auto* layer : block) {
      const std::string& name = selected.at(layer);
      const int64_t in = layer->weight.size(1);
      if (hook->rows(name) < in)
        spdlog::warn("{}: {} saw {} calibration input rows for {} inputs; its Hessian is singular and rests on the "
                     "damping (raise num_calibration_samples)", location, name, hook->rows(name), in);
      prune(name, params.at(name), hook->hessian(name));
    }
  }
}

}  // namespace sparrow::compress
