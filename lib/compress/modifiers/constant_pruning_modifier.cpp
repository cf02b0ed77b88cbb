#include "compress/modifiers/constant_pruning_modifier.h"

#include "compress/param_selection.h"

namespace sparrow::compress {

ConstantPruningModifier::ConstantPruningModifier(const recipe::ConstantPruningParams& p, std::string location)
    : Modifier("ConstantPruningModifier", p.start_epoch, p.end_epoch, -1.0), params_(p), location_(std::move(location)) {}

void ConstantPruningModifier::on_initialize(TrainState& state) {
  for (const auto& name : select_parameters(state.model, params_.params, location_)) masks_[name] = torch::Tensor();
}

void ConstantPruningModifier::on_start(TrainState& state, double) {
  torch::NoGradGuard no_grad;
  // Structured pruning may have shrunk or renamed parameters since initialize.
  masks_.clear();
  for (const auto& name : select_parameters(state.model, params_.params, location_)) masks_[name] = torch::Tensor();
  for (auto& [name, mask] : masks_) mask = (parameter(state.model, name) != 0).to(torch::kFloat32);
}

std::vector<std::pair<std::string, std::string>> ConstantPruningModifier::pruned_parameters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : masks_) out.emplace_back(kv.first, "constant");
  return out;
}

void ConstantPruningModifier::on_step(TrainState& state, const Event& event) { hold_masks(state, event, masks_); }

nlohmann::json ConstantPruningModifier::on_save_state(std::map<std::string, torch::Tensor>& tensors) const {
  return save_masks(masks_, tensors);
}

void ConstantPruningModifier::on_restore_state(TrainState&, const nlohmann::json& saved,
                                               const std::map<std::string, torch::Tensor>& tensors) {
  masks_ = restore_masks(saved, tensors);
}

nlohmann::json save_masks(const std::map<std::string, torch::Tensor>& masks, std::map<std::string, torch::Tensor>& tensors) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& [name, mask] : masks) {
    names.push_back(name);
    if (mask.defined()) tensors["mask:" + name] = mask;
  }
  return names;
}

std::map<std::string, torch::Tensor> restore_masks(const nlohmann::json& names, const std::map<std::string, torch::Tensor>& tensors) {
  std::map<std::string, torch::Tensor> masks;
  for (const auto& item : names) {
    const auto name = item.get<std::string>();
    const auto it = tensors.find("mask:" + name);
    masks[name] = it == tensors.end() ? torch::Tensor() : it->second;
  }
  return masks;
}

void hold_masks(TrainState& state, const Event& event, const std::map<std::string, torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  if (event.type == EventType::OptimizerPreStep) {
    for (const auto& [name, mask] : masks) {
      auto grad = parameter(state.model, name).mutable_grad();
      if (grad.defined()) grad.mul_(mask);
    }
  } else if (event.type == EventType::BatchEnd) {
    for (const auto& [name, mask] : masks) parameter(state.model, name).mul_(mask);
  }
}

}  // namespace sparrow::compress
