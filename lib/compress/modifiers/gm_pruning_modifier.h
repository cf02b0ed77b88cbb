#pragma once
// !GMPruningModifier (and !MagnitudePruningModifier, !GlobalMagnitudePruningModifier):
// gradual magnitude pruning. At each update the selected
// weights get a fresh magnitude mask at the schedule's sparsity; between
// updates the masks are held: gradients are masked before the optimizer step
// and the weights again after it, so momentum or weight decay revive nothing.
#include <map>
#include <string>

#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class GMPruningModifier : public Modifier {
 public:
  // `global`: one magnitude threshold across all selected parameters
  // (!GlobalMagnitudePruningModifier) instead of one per parameter.
  GMPruningModifier(const recipe::GMPruningParams& p, std::string location, bool global = false);

  // Current masks by parameter name (1 kept, 0 pruned).
  const std::map<std::string, torch::Tensor>& masks() const { return masks_; }
  double applied_sparsity() const { return applied_sparsity_; }
  std::vector<std::pair<std::string, std::string>> pruned_parameters() const override;

 protected:
  void on_initialize(TrainState& state) override;
  void on_start(TrainState& state, double epoch) override;
  void on_update(TrainState& state, double epoch) override;
  void on_end(TrainState& state, double epoch) override;
  void on_step(TrainState& state, const Event& event) override;
  bool keeps_effect_after_end() const override { return params_.leave_enabled; }
  nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& tensors) const override;
  void on_restore_state(TrainState& state, const nlohmann::json& saved,
                        const std::map<std::string, torch::Tensor>& tensors) override;

 private:
  // The selected parameters, each checked against the mask kind (check_mask_fits), with all-ones masks.
  void select_masks(TrainState& state);
  void prune_to(TrainState& state, double sparsity);

  recipe::GMPruningParams params_;
  std::string location_;
  bool global_;
  std::map<std::string, torch::Tensor> masks_;
  double applied_sparsity_ = 0.0;
};

}  // namespace sparrow::compress
