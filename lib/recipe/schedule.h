#pragma once
// The per-epoch plan a recipe describes: learning rate, each pruning
// modifier's target sparsity, what structured pruning has removed, and
// whether quantization and distillation are active. `compress schedule` prints it; it is also the reference the
// trainer's modifiers are tested against.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe.h"

namespace sparrow::recipe {

// The lr one function or scheduler modifier sets at `epoch` within its range.
double lr_function(const LearningRateFunctionParams& p, double epoch);
double lr_scheduler(const LearningRateParams& p, double epoch);

// The lr the recipe asks for at `epoch`: train.lr, changed by the LR
// modifiers in order of start_epoch (a later start wins). After a function
// modifier ends, its last value holds.
double learning_rate_at(const Recipe& recipe, double epoch);

// The target sparsity of a pruning modifier at `epoch`: nullopt when it holds
// no mask then (before start, or after end without leave_enabled) or when it
// keeps existing zeros (!ConstantPruningModifier) rather than a target.
std::optional<double> sparsity_at(const ModifierParams& params, double epoch);

// Whether a pruning modifier holds its mask at `epoch`.
bool holds_mask_at(const ModifierParams& params, double epoch);

// Structured pruning (heads, neurons, channels, layers): the fraction of each
// selected group's units removed by `epoch`, i.e. the curve's value at the
// modifier's last planned update (start, every update_frequency, end; an open
// end is `epochs`, the end of training); nullopt before start_epoch. The named
// form of !LayerPruningModifier removes its layers at start_epoch: 1.0 then.
// nullopt for a modifier that is not structured pruning.
std::optional<double> removed_fraction_at(const ModifierParams& params, double epoch, double epochs);
// The structured pruning fields of a modifier; null for any other modifier.
const StructuredPruningParams* structured_params(const ModifierParams& params);

enum class QatState { Off, Training, ObserversFrozen };
QatState quantization_at(const Recipe& recipe, double epoch);
bool distillation_at(const Recipe& recipe, double epoch);

struct ScheduleRow {
  double epoch = 0;
  double lr = 0;
  std::vector<std::optional<double>> sparsity;  // one per Schedule::pruning entry
  std::vector<bool> holding;                    // the modifier holds its mask (with or without a target)
  std::vector<std::optional<double>> removed;   // one per Schedule::structured entry
  QatState qat = QatState::Off;
  bool distillation = false;
};

struct Schedule {
  double epochs = 0;                      // planned_epochs()
  std::vector<const ModifierSpec*> pruning;  // pruning modifiers, in recipe order
  std::vector<const ModifierSpec*> structured;  // structured pruning modifiers, in recipe order
  std::vector<ScheduleRow> rows;          // epoch 0, step, 2*step, ... up to and including `epochs`
};

// BadInput when the plan would have more than kMaxScheduleRows rows (limits.h).
Schedule make_schedule(const Recipe& recipe, double step = 1.0);

nlohmann::json schedule_json(const Schedule& schedule);
std::string schedule_text(const Schedule& schedule);

}  // namespace sparrow::recipe
