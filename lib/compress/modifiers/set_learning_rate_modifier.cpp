#include "compress/modifiers/set_learning_rate_modifier.h"

namespace sparrow::compress {

SetLearningRateModifier::SetLearningRateModifier(const recipe::SetLearningRateParams& p)
    : Modifier("SetLearningRateModifier", p.start_epoch, p.end_epoch, -1.0), learning_rate_(p.learning_rate) {}

void SetLearningRateModifier::on_start(TrainState& state, double) { set_learning_rate(state.optimizer, learning_rate_); }

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double learning_rate(const torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().empty() ? 0.0 : optimizer.param_groups().front().options().get_lr();
}

}  // namespace sparrow::compress
