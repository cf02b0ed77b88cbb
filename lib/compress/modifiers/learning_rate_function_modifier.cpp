#include "compress/modifiers/learning_rate_function_modifier.h"

#include "compress/modifiers/set_learning_rate_modifier.h"
#include "recipe/schedule.h"

namespace sparrow::compress {

LearningRateFunctionModifier::LearningRateFunctionModifier(const recipe::LearningRateFunctionParams& p)
    : Modifier("LearningRateFunctionModifier", p.start_epoch, p.end_epoch, -1.0), params_(p) {}

void LearningRateFunctionModifier::on_step(TrainState& state, const Event& event) {
  if (event.type == EventType::BatchStart) set_learning_rate(state.optimizer, recipe::lr_function(params_, event.epoch));
}

LearningRateModifier::LearningRateModifier(const recipe::LearningRateParams& p)
    : Modifier("LearningRateModifier", p.start_epoch, p.end_epoch, -1.0), params_(p) {}

void LearningRateModifier::on_step(TrainState& state, const Event& event) {
  if (event.type == EventType::BatchStart) set_learning_rate(state.optimizer, recipe::lr_scheduler(params_, event.epoch));
}

}  // namespace sparrow::compress
