#pragma once
// !SparseGPTModifier and !WandaPruningModifier: one-shot pruning from calibration data (docs/one_shot.md). At
// its start (epoch 0 of a one-shot recipe, or before the first step of a training recipe) the selected linear layers are pruned once, block of layers by
// block (layer_hessians.h), each from its Hessian over the calibration batches: SparseGPT with the
// second-order update of the weights it keeps (sparsegpt.h), Wanda by |W| * ||X|| with no update (wanda.h).
// Afterwards the masks are held like a pruning modifier's, through any training, and kept in resume checkpoints.
#include <map>
#include <string>
#include <variant>

#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class OneShotPruningModifier : public Modifier {
 public:
  OneShotPruningModifier(const recipe::SparseGPTParams& p, std::string location);
  OneShotPruningModifier(const recipe::WandaPruningParams& p, std::string location);

  std::vector<std::pair<std::string, std::string>> pruned_parameters() const override;
  const std::map<std::string, torch::Tensor>& masks() const { return masks_; }

 protected:
  void on_initialize(TrainState& state) override;
  void on_start(TrainState& state, double epoch) override;
  void on_step(TrainState& state, const Event& event) override;
  bool keeps_effect_after_end() const override { return true; }
  nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& tensors) const override;
  void on_restore_state(TrainState& state, const nlohmann::json& saved, const std::map<std::string, torch::Tensor>& tensors) override;

 private:
  const recipe::OneShotPruningParams& common() const;
  std::vector<std::string> selected(const models::Classifier& model) const;

  std::variant<recipe::SparseGPTParams, recipe::WandaPruningParams> params_;
  std::string location_;
  std::map<std::string, torch::Tensor> masks_;
};

}  // namespace sparrow::compress
