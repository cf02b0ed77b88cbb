#include "compress/quant/qat_hook.h"

#include <limits>

#include "compress/distributed/process_group.h"
#include "core/errors.h"
#include "core/files.h"
#include "models/conv_bn.h"

namespace sparrow::compress {

namespace F = torch::nn::functional;

QatHook::QatHook(models::Classifier& model, const std::vector<std::string>& layers,
                 const std::vector<std::string>& attention_blocks) {
  const auto contains = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  const auto blocks = model.attention_blocks();
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (contains(layers, item.key())) layers_[item.value().get()] = Layer{item.key(), {}};
    if (contains(attention_blocks, item.key()) && contains(blocks, item.key()))
      attention_[item.value().get()] = AttentionBlock{item.key(), {}, {}, {}};
  }
}

QatHook::Layer* QatHook::find(const torch::nn::Module& module) {
  const auto it = layers_.find(&module);
  return it == layers_.end() ? nullptr : &it->second;
}

void QatHook::observe(ActivationObserver& observer, const torch::Tensor& x, bool training) {
  if (training && !observer.frozen()) {
    if (std::find(training_order_.begin(), training_order_.end(), &observer) == training_order_.end())
      training_order_.push_back(&observer);
    const auto range = torch::aminmax(x.detach());
    float lo = std::get<0>(range).item<float>(), hi = std::get<1>(range).item<float>();
    // Every rank observes the global batch's range, as one process would.
    distributed::all_reduce_min_max(lo, hi);
    observer.observe(lo, hi);
  } else if (!observer.initialized()) {
    // Evaluation before any training step: ranks evaluate different items, so no collective here.
    const auto range = torch::aminmax(x.detach());
    observer.observe(std::get<0>(range).item<float>(), std::get<1>(range).item<float>());
  }
}

quant::ActivationParams QatHook::qparams(Layer& layer, const torch::Tensor& x, bool training) {
  observe(layer.observer, x, training);
  return quant::activation_params(layer.observer.lo(), layer.observer.hi());
}

void QatHook::step_without_items() {
  for (ActivationObserver* observer : training_order_) {
    if (observer->frozen()) continue;
    float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
    distributed::all_reduce_min_max(lo, hi);
    observer->observe(lo, hi);
  }
}

torch::Tensor QatHook::attention(const torch::nn::Module& block, const models::AttentionInputs& in) {
  const auto it = attention_.find(&block);
  if (it == attention_.end()) return models::attention_f32(in);
  AttentionBlock& a = it->second;
  const bool training = block.is_training();
  observe(a.q, in.q, training);
  observe(a.k, in.k, training);
  observe(a.v, in.v, training);
  const AttentionQParams p{quant::activation_params(a.q.lo(), a.q.hi()),
                           quant::symmetric_activation_params(a.k.lo(), a.k.hi()),
                           quant::symmetric_activation_params(a.v.lo(), a.v.hi())};
  return training ? fake_quantized_attention(in, p) : quantized_attention_exact(in, p);
}

torch::Tensor QatHook::linear(const torch::nn::LinearImpl& module, const torch::Tensor& x) {
  Layer* layer = find(module);
  if (!layer) return F::linear(x, module.weight, module.bias);
  const auto q = qparams(*layer, x, module.is_training());
  if (module.is_training())
    return F::linear(fake_quantize_activation(x, q), fake_quantize_weight(module.weight), module.bias);
  return quantized_linear_exact(x, q, module.weight, module.bias);
}

namespace {

F::Conv2dFuncOptions conv_options(const torch::nn::Conv2dImpl& module, const torch::Tensor& bias) {
  const auto& o = module.options;
  return F::Conv2dFuncOptions()
      .stride(o.stride())
      .dilation(o.dilation())
      .groups(o.groups())
      .padding(c10::get<torch::ExpandingArray<2>>(o.padding()))
      .bias(bias);
}

// Batch statistics (updating the running ones) or the running statistics alone.
torch::Tensor batch_norm(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, bool batch_statistics) {
  return F::batch_norm(x, bn.running_mean, bn.running_var,
                       F::BatchNormFuncOptions()
                           .weight(bn.weight)
                           .bias(bn.bias)
                           .training(batch_statistics)
                           .momentum(bn.options.momentum().value_or(0.1))
                           .eps(bn.options.eps()));
}

}  // namespace

torch::Tensor QatHook::exact_conv2d(const torch::nn::Conv2dImpl& module, const torch::Tensor& x, const quant::ActivationParams& q,
                                    const torch::Tensor& weight, const torch::Tensor& bias) const {
  // The engine runs conv as im2col + GEMM: columns [B, L, C*kh*kw] times W [out, C*kh*kw].
  const auto& o = module.options;
  const auto padding = c10::get<torch::ExpandingArray<2>>(o.padding());
  const auto kernel = o.kernel_size();
  const auto cols = F::unfold(x, F::UnfoldFuncOptions(kernel).padding(padding).stride(o.stride()).dilation(o.dilation()));
  const auto y = quantized_linear_exact(cols.transpose(1, 2), q, weight.reshape({weight.size(0), -1}), bias);
  const int64_t h = (x.size(2) + 2 * (*padding)[0] - (*o.dilation())[0] * ((*kernel)[0] - 1) - 1) / (*o.stride())[0] + 1;
  const int64_t w = (x.size(3) + 2 * (*padding)[1] - (*o.dilation())[1] * ((*kernel)[1] - 1) - 1) / (*o.stride())[1] + 1;
  return y.transpose(1, 2).reshape({x.size(0), weight.size(0), h, w});
}

torch::Tensor QatHook::conv2d(const torch::nn::Conv2dImpl& module, const torch::Tensor& x) {
  Layer* layer = find(module);
  if (!layer) return F::conv2d(x, module.weight, conv_options(module, module.bias));
  const auto q = qparams(*layer, x, module.is_training());
  if (module.is_training())
    return F::conv2d(fake_quantize_activation(x, q), fake_quantize_weight(module.weight), conv_options(module, module.bias));
  return exact_conv2d(module, x, q, module.weight, module.bias);
}

torch::Tensor QatHook::conv2d_bn(const torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  const bool training = conv.is_training();
  Layer* layer = find(conv);
  if (!layer) return batch_norm(bn, F::conv2d(x, conv.weight, conv_options(conv, conv.bias)), training && !bn_stats_frozen_);
  const auto q = qparams(*layer, x, training);
  const auto folded = models::fold_batch_norm(conv, bn);
  if (!training) return exact_conv2d(conv, x, q, folded.weight, folded.bias);
  const auto xq = fake_quantize_activation(x, q);
  const auto wq = fake_quantize_weight(folded.weight);
  if (bn_stats_frozen_) return F::conv2d(xq, wq, conv_options(conv, folded.bias));
  // Batch statistics: divide the folded scale back out, so that the BatchNorm sees the conv's own output
  // (computed with the quantized folded weight) and normalises it with this batch's mean and variance.
  const auto scale = models::batch_norm_scale(bn).view({1, -1, 1, 1});
  const auto y = F::conv2d(xq, wq, conv_options(conv, {})) / scale;
  return batch_norm(bn, conv.bias.defined() ? y + conv.bias.view({1, -1, 1, 1}) : y, true);
}

void QatHook::freeze_observers() {
  for (auto& [module, layer] : layers_) layer.observer.freeze();
  for (auto& [module, block] : attention_) {
    for (ActivationObserver* o : {&block.q, &block.k, &block.v}) o->freeze();
  }
}

std::vector<std::string> QatHook::layers() const {
  std::vector<std::string> names;
  for (const auto& [module, layer] : layers_) names.push_back(layer.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> QatHook::attention_blocks() const {
  std::vector<std::string> names;
  for (const auto& [module, block] : attention_) names.push_back(block.name);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

nlohmann::json observer_json(const ActivationObserver& o, const quant::ActivationParams& q) {
  return {{"lo", o.lo()}, {"hi", o.hi()}, {"scale", q.scale}, {"zero_point", q.zero_point}};
}

void load_observer(ActivationObserver& o, const nlohmann::json& entry, const std::string& what) {
  try {
    o.set(entry.at("lo").get<float>(), entry.at("hi").get<float>());
  } catch (const nlohmann::json::exception&) {
    throw BadInput(what + " needs numbers lo and hi");
  }
  o.freeze();
}

}  // namespace

nlohmann::json QatHook::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [module, layer] : layers_)
    j[layer.name] = observer_json(layer.observer, quant::activation_params(layer.observer.lo(), layer.observer.hi()));
  for (const auto& [module, b] : attention_) {
    j[b.name] = {{"q", observer_json(b.q, quant::activation_params(b.q.lo(), b.q.hi()))},
                 {"k", observer_json(b.k, quant::symmetric_activation_params(b.k.lo(), b.k.hi()))},
                 {"v", observer_json(b.v, quant::symmetric_activation_params(b.v.lo(), b.v.hi()))}};
  }
  return j;
}

void QatHook::load_json(const nlohmann::json& j, const std::string& source) {
  for (auto& [module, layer] : layers_) {
    if (!j.contains(layer.name)) throw BadInput(source + ": no quantization parameters for layer '" + layer.name + "'");
    load_observer(layer.observer, j.at(layer.name), source + ": layer '" + layer.name + "'");
  }
  for (auto& [module, b] : attention_) {
    if (!j.contains(b.name)) throw BadInput(source + ": no quantization parameters for attention '" + b.name + "'");
    const auto& entry = j.at(b.name);
    for (const auto& [key, observer] : {std::pair{"q", &b.q}, std::pair{"k", &b.k}, std::pair{"v", &b.v}}) {
      if (!entry.contains(key)) throw BadInput(source + ": attention '" + b.name + "' needs \"" + key + "\"");
      load_observer(*observer, entry.at(key), source + ": attention '" + b.name + "' " + key);
    }
  }
}

template <typename Self>
auto QatHook::observers_by_name(Self& self) {
  std::map<std::string, decltype(&self.layers_.begin()->second.observer)> out;
  for (auto& [module, layer] : self.layers_) out[layer.name] = &layer.observer;
  for (auto& [module, b] : self.attention_)
    for (const auto& [key, observer] : {std::pair{"/q", &b.q}, std::pair{"/k", &b.k}, std::pair{"/v", &b.v}})
      out[b.name + key] = observer;
  return out;
}

nlohmann::json QatHook::training_state() const {
  const auto observers = observers_by_name(*this);
  nlohmann::json j = {{"observers", nlohmann::json::object()}, {"training_order", nlohmann::json::array()},
                      {"bn_stats_frozen", bn_stats_frozen_}};
  for (const auto& [name, o] : observers)
    j["observers"][name] = {{"lo", o->lo()}, {"hi", o->hi()}, {"initialized", o->initialized()}, {"frozen", o->frozen()}};
  for (const ActivationObserver* o : training_order_)
    for (const auto& [name, candidate] : observers)
      if (candidate == o) j["training_order"].push_back(name);
  return j;
}

void QatHook::restore_training_state(const nlohmann::json& j) {
  const auto observers = observers_by_name(*this);
  for (const auto& [name, saved] : j.at("observers").items()) {
    ActivationObserver* o = observers.at(name);
    *o = ActivationObserver();
    if (saved.at("initialized").get<bool>()) o->set(saved.at("lo").get<float>(), saved.at("hi").get<float>());
    if (saved.at("frozen").get<bool>()) o->freeze();
  }
  training_order_.clear();
  for (const auto& name : j.at("training_order")) training_order_.push_back(observers.at(name.get<std::string>()));
  bn_stats_frozen_ = j.at("bn_stats_frozen").get<bool>();
}

std::vector<std::string> quantizable_layers(models::Classifier& model) {
  std::vector<std::string> names;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (item.value()->as<torch::nn::Linear>() || item.value()->as<torch::nn::Conv2d>()) names.push_back(item.key());
  return names;
}

void save_quantization(const std::filesystem::path& checkpoint_dir, const models::Classifier& model) {
  const auto* hook = dynamic_cast<const QatHook*>(model.linear_hook().get());
  if (!hook) return;
  write_file_atomic(checkpoint_dir / "quantization.json", hook->to_json().dump(2) + "\n");
}

void load_quantization(const std::filesystem::path& checkpoint_dir, models::Classifier& model) {
  const auto file = checkpoint_dir / "quantization.json";
  if (!std::filesystem::exists(file)) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(file.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw BadInput(file.string() + ": expected an object of layers");
  // An attention block's entry holds its "q", "k" and "v" ranges; a layer's its own range.
  std::vector<std::string> layers, blocks;
  for (const auto& [name, entry] : j.items()) (entry.is_object() && entry.contains("q") ? blocks : layers).push_back(name);
  auto hook = std::make_shared<QatHook>(model, layers, blocks);
  if (hook->layers().size() != layers.size() || hook->attention_blocks().size() != blocks.size())
    throw BadInput(file.string() + ": names layers this model does not have");
  hook->load_json(j, file.string());
  model.set_linear_hook(hook);
}

}  // namespace sparrow::compress
