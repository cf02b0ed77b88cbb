#pragma once
// !SetLearningRateModifier: sets every parameter group's learning rate at start_epoch.
#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class SetLearningRateModifier : public Modifier {
 public:
  explicit SetLearningRateModifier(const recipe::SetLearningRateParams& p);

 protected:
  void on_start(TrainState& state, double epoch) override;

 private:
  double learning_rate_;
};

// Sets the learning rate of every parameter group of the optimizer.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
double learning_rate(const torch::optim::Optimizer& optimizer);

}  // namespace sparrow::compress
