#pragma once
// !LearningRateFunctionModifier (linear, cosine, cyclic_linear from init_lr to
// final_lr) and !LearningRateModifier (StepLR, MultiStepLR, ExponentialLR):
// set the learning rate at every step of their range.
#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class LearningRateFunctionModifier : public Modifier {
 public:
  explicit LearningRateFunctionModifier(const recipe::LearningRateFunctionParams& p);

 protected:
  void on_step(TrainState& state, const Event& event) override;

 private:
  recipe::LearningRateFunctionParams params_;
};

class LearningRateModifier : public Modifier {
 public:
  explicit LearningRateModifier(const recipe::LearningRateParams& p);

 protected:
  void on_step(TrainState& state, const Event& event) override;

 private:
  recipe::LearningRateParams params_;
};

}  // namespace sparrow::compress
