#include "compress/modifier_registry.h"

#include <algorithm>
#include <optional>

#include "compress/modifiers/constant_pruning_modifier.h"
#include "compress/modifiers/distillation_modifier.h"
#include "compress/modifiers/epoch_range_modifier.h"
#include "compress/modifiers/gm_pruning_modifier.h"
#include "compress/modifiers/learning_rate_function_modifier.h"
#include "compress/modifiers/one_shot_pruning_modifier.h"
#include "compress/modifiers/output_distillation_modifier.h"
#include "compress/modifiers/quantization_modifier.h"
#include "compress/modifiers/set_learning_rate_modifier.h"
#include "compress/modifiers/structured_pruning_modifier.h"
#include "core/errors.h"
#include "recipe/expression.h"
#include "recipe/modifier_parsers.h"

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
  std::unique_ptr<Modifier> operator()(const recipe::OutputDistillationParams& p) const {
    return std::make_unique<OutputDistillationModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::QuantizationParams& p) const {
    return std::make_unique<QuantizationModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::StructuredPruningParams& p) const {
    return std::make_unique<StructuredPruningModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::LayerPruningParams& p) const {
    return std::make_unique<StructuredPruningModifier>(p, spec.location, p.layers);
  }
  std::unique_ptr<Modifier> operator()(const recipe::SparseGPTParams& p) const {
    return std::make_unique<OneShotPruningModifier>(p, spec.location);
  }
  std::unique_ptr<Modifier> operator()(const recipe::WandaPruningParams& p) const {
    return std::make_unique<OneShotPruningModifier>(p, spec.location);
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

namespace {

// The epoch after which a structured pruning modifier changes no shape (-1:
// it may until the end of training); nullopt for other modifiers.
std::optional<double> last_removal(const recipe::ModifierParams& params) {
  if (const auto* l = std::get_if<recipe::LayerPruningParams>(&params))
    return l->layers.empty() ? l->end_epoch : l->start_epoch;
  if (const auto* s = std::get_if<recipe::StructuredPruningParams>(&params)) return s->end_epoch;
  return std::nullopt;
}

// Masks and quantization observers are made for the shapes at their start, so
// structured pruning must be over by then.
void check_structured_order(const recipe::Recipe& recipe) {
  for (const auto& s : recipe.modifiers) {
    const auto last = last_removal(s.params);
    if (!last) continue;
    for (const auto& m : recipe.modifiers) {
      const bool shaped = recipe::pruning_params(m.params) || std::holds_alternative<recipe::QuantizationParams>(m.params);
      if (!shaped) continue;
      const double start = recipe::epoch_range(m.params).first;
      if (*last < 0 || *last > start + 1e-9)
        throw BadInput(s.location + ": !" + s.tag + " removes units until epoch " +
                       (*last < 0 ? std::string("the end of training") : recipe::format_number(*last)) + " but !" + m.tag +
                       " (" + m.location + ") starts at epoch " + recipe::format_number(start) +
                       "; structured pruning must end (end_epoch) before pruning masks or quantization start");
    }
  }
}

}  // namespace

std::vector<std::unique_ptr<Modifier>> make_modifiers(const recipe::Recipe& recipe) {
  check_structured_order(recipe);
  std::vector<std::unique_ptr<Modifier>> out;
  for (const auto& spec : recipe.modifiers) out.push_back(make_modifier(spec));
  // At an epoch where structured pruning ends and masks start, the removal
  // must come first: modifiers run in this order at every event.
  std::stable_partition(out.begin(), out.end(),
                        [](const auto& m) { return dynamic_cast<const StructuredPruningModifier*>(m.get()) != nullptr; });
  return out;
}

}  // namespace sparrow::compress
