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

 private:
  recipe::ConstantPruningParams params_;
  std::string location_;
  std::map<std::string, torch::Tensor> masks_;
};

// Masks the gradients (before the optimizer step) or the weights (after it)
// of the named parameters: what keeps pruned weights at zero.
void hold_masks(TrainState& state, const Event& event, const std::map<std::string, torch::Tensor>& masks);

}  // namespace sparrow::compress
