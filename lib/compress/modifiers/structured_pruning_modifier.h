#pragma once
// !HeadPruningModifier, !NeuronPruningModifier, !ChannelPruningModifier and
// !LayerPruningModifier: structured pruning that physically removes units.
// At each update, every selected group (a layer's heads, a layer's FFN
// neurons, a conv's channels, the encoder's layers) loses its lowest-scored
// units until the schedule's fraction of its original units is gone; the
// model's tensors shrink and the optimizer is rebuilt for the new parameters.
// Scores: mean |w| over the unit's weights, or first-order importance
// |w * dL/dw| summed over the steps since the last removal.
#include <map>
#include <string>
#include <vector>

#include "compress/modifier.h"
#include "models/structure.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class StructuredPruningModifier : public Modifier {
 public:
  // `layers`: the SparseML form of !LayerPruningModifier, names of the layers
  // removed at start_epoch instead of scored ones.
  StructuredPruningModifier(const recipe::StructuredPruningParams& p, std::string location,
                            std::vector<std::string> layers = {});

  // Units removed so far, over all groups.
  int64_t removed_units() const { return removed_; }

 protected:
  void on_initialize(TrainState& state) override;
  void on_update(TrainState& state, double epoch) override;
  void on_end(TrainState& state, double epoch) override;
  void on_step(TrainState& state, const Event& event) override;
  // A checkpoint keeps every removal in order ({group, units} as removed), the counts and the first-order
  // scores; a resumed run removes the same units from the fresh model before the weights are loaded.
  nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& tensors) const override;
  void on_restore_structure(TrainState& state, const nlohmann::json& saved) override;
  void on_restore_state(TrainState& state, const nlohmann::json& saved,
                        const std::map<std::string, torch::Tensor>& tensors) override;

 private:
  std::vector<models::StructureGroup> selected_groups(const models::Classifier& model) const;
  torch::Tensor unit_scores(models::Classifier& model, const models::StructureGroup& group) const;
  void prune_to(TrainState& state, double fraction);
  void remove_named_layers(TrainState& state);
  void remove_units(TrainState& state, const std::string& group, const std::vector<int64_t>& units);

  recipe::StructuredPruningParams params_;
  std::string location_;
  std::vector<std::string> layers_;
  models::StructureKind kind_;
  std::map<std::string, int64_t> original_units_;  // by group name
  std::map<std::string, torch::Tensor> importance_;  // |w * dL/dw| summed, by parameter
  int64_t removed_ = 0;
  std::vector<std::pair<std::string, std::vector<int64_t>>> removals_;  // in order: group, units as numbered then
};

// Points the optimizer at the model's current parameters, dropping the state
// of parameters that no longer exist (new tensors start with fresh state).
void rebuild_optimizer(TrainState& state);

}  // namespace sparrow::compress
