#pragma once
// !ConstantPruningModifier: the weights that are zero when it starts stay
// zero (gradients masked before each step, weights after it) while the rest
// fine-tune.
#include <map>

#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class ConstantPruningModifier : public Modifier {
 public:
  ConstantPruningModifier(const recipe::ConstantPruningParams& p, std::string location);
  std::vector<std::pair<std::string, std::string>> pruned_parameters() const override;

 protected:
  void on_initialize(TrainState& state) override;
  void on_start(TrainState& state, double epoch) override;
  void on_step(TrainState& state, const Event& event) override;
  nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& tensors) const override;
  void on_restore_state(TrainState& state, const nlohmann::json& saved,
                        const std::map<std::string, torch::Tensor>& tensors) override;

 private:
  recipe::ConstantPruningParams params_;
  std::string location_;
  std::map<std::string, torch::Tensor> masks_;
};

// Masks the gradients (before the optimizer step) or the weights (after it)
// of the named parameters: what keeps pruned weights at zero.
void hold_masks(TrainState& state, const Event& event, const std::map<std::string, torch::Tensor>& masks);

// Masks by parameter name into a checkpoint's tensors ("mask:<name>"; a mask not made yet is saved as absent)
// and back: the JSON lists the names.
nlohmann::json save_masks(const std::map<std::string, torch::Tensor>& masks, std::map<std::string, torch::Tensor>& tensors);
std::map<std::string, torch::Tensor> restore_masks(const nlohmann::json& names, const std::map<std::string, torch::Tensor>& tensors);

}  // namespace sparrow::compress
