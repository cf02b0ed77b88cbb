#pragma once
// !DistillationModifier: the loss becomes
//   hardness * T^2 * KL(teacher || student at temperature T) + (1 - hardness) * task loss
// with the frozen teacher run without gradients on the same batch.
#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class DistillationModifier : public Modifier {
 public:
  DistillationModifier(const recipe::DistillationParams& p, std::string location);

  // The distillation loss alone, for tests: student and teacher logits [B, C].
  static torch::Tensor kd_loss(const torch::Tensor& student, const torch::Tensor& teacher, double temperature);

 protected:
  void on_initialize(TrainState& state) override;
  void on_step(TrainState& state, const Event& event) override;

 private:
  recipe::DistillationParams params_;
  std::string location_;
};

}  // namespace sparrow::compress
