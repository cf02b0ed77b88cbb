#pragma once
// !DistillationModifier: the loss becomes
//   hardness * T^2 * KL(teacher || student at temperature T) + (1 - hardness) * task loss
//   + hidden_state_gain * hidden_state_loss (distillation_hidden_states.h)
// with the frozen teacher run without gradients on the same batch.
#include "compress/modifier.h"
#include "compress/modifiers/distillation_hidden_states.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class DistillationModifier : public Modifier {
 public:
  DistillationModifier(const recipe::DistillationParams& p, std::string location);

  // The distillation loss alone: student and teacher logits [B, C], or a causal LM's [B, T, vocab], whose
  // positions `attention_mask` [B, T] (1 = token; undefined: all) selects for the mean.
  static torch::Tensor kd_loss(const torch::Tensor& student, const torch::Tensor& teacher, double temperature,
                               const torch::Tensor& attention_mask = {});

 protected:
  void on_initialize(TrainState& state) override;
  void on_step(TrainState& state, const Event& event) override;

 private:
  // The recipe's map, or the default one for the current layer counts (the
  // student may lose layers while training); BadInput when a name is out of range.
  LayerMap layer_map(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher) const;

  recipe::DistillationParams params_;
  std::string location_;
};

}  // namespace sparrow::compress
