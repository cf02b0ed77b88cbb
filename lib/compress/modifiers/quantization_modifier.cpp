#include "compress/modifiers/quantization_modifier.h"

#include <spdlog/spdlog.h>

#include "core/errors.h"

namespace sparrow::compress {

namespace {

bool has_prefix(const std::string& name, const std::string& prefix) {
  return name == prefix || name.rfind(prefix + ".", 0) == 0;
}

std::string module_type(const torch::nn::Module& m) {
  if (m.as<torch::nn::Linear>()) return "Linear";
  if (m.as<torch::nn::Conv2d>()) return "Conv2d";
  return "";
}

}  // namespace

QuantizationModifier::QuantizationModifier(const recipe::QuantizationParams& p, std::string location)
    : Modifier("QuantizationModifier", p.start_epoch, p.end_epoch, -1.0), params_(p), location_(std::move(location)) {
  if (p.weight_bits != 8 || p.activation_bits != 8)
    throw BadInput(location_ + ": Sparrow's engine runs 8-bit weights and activations only (weight_bits: " +
                   std::to_string(p.weight_bits) + ", activation_bits: " + std::to_string(p.activation_bits) + ")");
}

std::vector<std::string> QuantizationModifier::select_layers(models::Classifier& model,
                                                             const recipe::QuantizationParams& p) {
  std::vector<std::string> out;
  const auto modules = model.named_modules("", false);
  for (const auto& name : quantizable_layers(model)) {
    const auto& module = *modules[name];
    const bool in_scope = p.submodules.empty() ||
                          std::any_of(p.submodules.begin(), p.submodules.end(), [&](const auto& s) { return has_prefix(name, s); });
    const auto type = module_type(module);
    const bool ignored = std::any_of(p.ignore.begin(), p.ignore.end(), [&](const auto& s) { return has_prefix(name, s) || s == type; }) ||
                         std::find(p.exclude_module_types.begin(), p.exclude_module_types.end(), type) != p.exclude_module_types.end();
    if (in_scope && !ignored) out.push_back(name);
  }
  return out;
}

std::vector<std::string> QuantizationModifier::attention_blocks(models::Classifier& model,
                                                                const recipe::QuantizationParams& p) {
  if (!p.quantize_attention) return {};
  std::vector<std::string> out;
  for (const auto& name : model.attention_blocks()) {
    const auto prefix = [&](const std::string& s) { return has_prefix(name, s); };
    const bool in_scope = p.submodules.empty() || std::any_of(p.submodules.begin(), p.submodules.end(), prefix);
    if (in_scope && std::none_of(p.ignore.begin(), p.ignore.end(), prefix)) out.push_back(name);
  }
  return out;
}

void QuantizationModifier::on_initialize(TrainState& state) {
  layers_ = select_layers(state.model, params_);
  if (layers_.empty()) throw BadInput(location_ + ": submodules/ignore leave no linear or conv layer to quantize");
  if (params_.quantize_attention && attention_blocks(state.model, params_).empty())
    throw BadInput(location_ + ": quantize_attention: true, but this model has no attention in the quantized scope");
}

void QuantizationModifier::on_start(TrainState& state, double epoch) {
  // Structured pruning may have replaced or renamed layers since initialize.
  layers_ = select_layers(state.model, params_);
  hook_ = std::make_shared<QatHook>(state.model, layers_, attention_blocks(state.model, params_));
  state.model.set_linear_hook(hook_);
  spdlog::info("quantization-aware training from epoch {:.2f} on {} layers{}", epoch, layers_.size(),
               params_.quantize_attention ? fmt::format(" and {} attention blocks", hook_->attention_blocks().size()) : "");
}

nlohmann::json QuantizationModifier::on_save_state(std::map<std::string, torch::Tensor>&) const {
  return {{"layers", layers_}, {"hook", hook_ ? hook_->training_state() : nlohmann::json(nullptr)}};
}

void QuantizationModifier::on_restore_state(TrainState& state, const nlohmann::json& saved,
                                            const std::map<std::string, torch::Tensor>&) {
  layers_ = saved.at("layers").get<std::vector<std::string>>();
  if (saved.at("hook").is_null()) return;  // not started yet
  hook_ = std::make_shared<QatHook>(state.model, layers_, attention_blocks(state.model, params_));
  hook_->restore_training_state(saved.at("hook"));
  state.model.set_linear_hook(hook_);
}

void QuantizationModifier::on_step(TrainState&, const Event& event) {
  if (event.type != EventType::BatchStart) return;
  const auto reached = [&](double epoch) { return epoch >= 0 && event.epoch + 1e-9 >= epoch; };
  if (reached(params_.disable_quantization_observer_epoch)) hook_->freeze_observers();
  if (reached(params_.freeze_bn_stats_epoch)) hook_->freeze_bn_stats();
}

}  // namespace sparrow::compress
