#include "compress/modifiers/gm_pruning_modifier.h"

#include <spdlog/spdlog.h>

#include "compress/masks/magnitude_mask.h"
#include "compress/modifiers/constant_pruning_modifier.h"
#include "compress/param_selection.h"
#include "core/errors.h"
#include "recipe/gmp_schedule.h"

namespace sparrow::compress {

GMPruningModifier::GMPruningModifier(const recipe::GMPruningParams& p, std::string location, bool global)
    : Modifier(global ? "GlobalMagnitudePruningModifier" : "GMPruningModifier", p.start_epoch, p.end_epoch,
               p.update_frequency),
      params_(p),
      location_(std::move(location)),
      global_(global) {}

void GMPruningModifier::select_masks(TrainState& state) {
  masks_.clear();
  const auto names = select_parameters(state.model, params_.params, location_);
  for (const auto& name : names) check_mask_fits(params_.mask, name, parameter(state.model, name), location_);
  for (const auto& name : names) masks_[name] = torch::ones_like(parameter(state.model, name)).detach();
}

void GMPruningModifier::on_initialize(TrainState& state) { select_masks(state); }

// Structured pruning may have shrunk or renamed parameters since initialize.
void GMPruningModifier::on_start(TrainState& state, double) { select_masks(state); }

std::vector<std::pair<std::string, std::string>> GMPruningModifier::pruned_parameters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : masks_) out.emplace_back(kv.first, params_.mask.name());
  return out;
}

void GMPruningModifier::prune_to(TrainState& state, double sparsity) {
  torch::NoGradGuard no_grad;
  if (global_) {
    std::vector<torch::Tensor> weights;
    for (auto& [name, mask] : masks_) weights.push_back(parameter(state.model, name));
    const auto masks = global_magnitude_masks(weights, sparsity, params_.mask);
    size_t i = 0;
    for (auto& [name, mask] : masks_) mask = masks[i++];
  } else {
    for (auto& [name, mask] : masks_) mask = magnitude_mask(parameter(state.model, name), sparsity, params_.mask);
  }
  for (auto& [name, mask] : masks_) parameter(state.model, name).mul_(mask);
  applied_sparsity_ = sparsity;
  spdlog::debug("{}: epoch {:.3f} sparsity {:.4f} on {} parameters", tag(), state.epoch, sparsity, masks_.size());
}

void GMPruningModifier::on_update(TrainState& state, double epoch) {
  prune_to(state, recipe::target_sparsity(params_, epoch));
}

void GMPruningModifier::on_end(TrainState& state, double) { prune_to(state, params_.final_sparsity); }

nlohmann::json GMPruningModifier::on_save_state(std::map<std::string, torch::Tensor>& tensors) const {
  return {{"masks", save_masks(masks_, tensors)}, {"applied_sparsity", applied_sparsity_}};
}

void GMPruningModifier::on_restore_state(TrainState&, const nlohmann::json& saved,
                                         const std::map<std::string, torch::Tensor>& tensors) {
  masks_ = restore_masks(saved.at("masks"), tensors);
  applied_sparsity_ = saved.at("applied_sparsity").get<double>();
}

void GMPruningModifier::on_step(TrainState& state, const Event& event) { hold_masks(state, event, masks_); }

}  // namespace sparrow::compress
