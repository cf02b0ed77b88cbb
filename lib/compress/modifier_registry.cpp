#include "compress/modifier_registry.h"

#include "compress/modifiers/constant_pruning_modifier.h"
#include "compress/modifiers/distillation_modifier.h"
#include "compress/modifiers/epoch_range_modifier.h"
#include "compress/modifiers/gm_pruning_modifier.h"
#include "compress/modifiers/learning_rate_function_modifier.h"
#include "compress/modifiers/quantization_modifier.h"
#include "compress/modifiers/set_learning_rate_modifier.h"
#include "core/errors.h"

namespace sparrow::compress {

namespace {
struct Factory {
  const recipe::ModifierSpec& spec;
  std::unique_ptr<Modifier> operator()(const recipe::EpochRangeParams& p) const {
    return std::make_unique<EpochRangeModifier>(p);
  }
  std::unique_ptr<Modifier> operator()(const recipe::SetLearningRateParams& p) const {
    return std::make_unique<SetLearningRateModifier>(p);
  }
  std::unique_ptr<Modifier> operator()(const recipe::GMPruningParams& p) const {
    return std::make_unique<GMPruningModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::GlobalMagnitudePruningParams& p) const {
    return std::make_unique<GMPruningModifier>(p, spec.location, /*global=*/true);
  }
  std::unique_ptr<Modifier> operator()(const recipe::ConstantPruningParams& p) const {
    return std::make_unique<ConstantPruningModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::LearningRateFunctionParams& p) const {
    return std::make_unique<LearningRateFunctionModifier>(p);
  }
  std::unique_ptr<Modifier> operator()(const recipe::LearningRateParams& p) const {
    return std::make_unique<LearningRateModifier>(p);
  }
  std::unique_ptr<Modifier> operator()(const recipe::DistillationParams& p) const {
    return std::make_unique<DistillationModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::QuantizationParams& p) const {
    return std::make_unique<QuantizationModifier>(p, spec.location);
  }
  // Tags the recipe language reads but the trainer cannot run yet.
  template <typename Params>
  std::unique_ptr<Modifier> operator()(const Params&) const {
    throw BadInput(spec.location + ": !" + spec.tag + " is a valid recipe modifier but this version of Sparrow cannot run it yet");
  }
};
}  // namespace

std::unique_ptr<Modifier> make_modifier(const recipe::ModifierSpec& spec) {
  return std::visit(Factory{spec}, spec.params);
}

std::vector<std::unique_ptr<Modifier>> make_modifiers(const recipe::Recipe& recipe) {
  std::vector<std::unique_ptr<Modifier>> out;
  for (const auto& spec : recipe.modifiers) out.push_back(make_modifier(spec));
  return out;
}

}  // namespace sparrow::compress
