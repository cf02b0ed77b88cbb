#pragma once
// One-shot compression: a recipe that trains no epoch (train.epochs: 0 and no !EpochRangeModifier) puts the
// model in its recipe's end state at once, with no gradient step: magnitude pruning modifiers (start_epoch =
// end_epoch = 0) prune to their final_sparsity, !SparseGPTModifier and !WandaPruningModifier prune from the
// layer inputs of the first num_calibration_samples training items (the first epoch's seeded order), and each
// !QuantizationModifier's activation observers see its num_calibration_steps training batches and freeze.
// Only the pruned (SparseGPT: and updated) weights and the observers change. Classifiers are measured by
// accuracy, causal LMs by perplexity, before and after.
#include "compress/trainer.h"

namespace sparrow::compress {

// True when the recipe trains 0 epochs.
bool is_one_shot(const recipe::Recipe& recipe);

// Refuses (BadInput, every problem at once) modifiers a one-shot run cannot act on; evaluates the model before
// and after. TrainResult::epochs stays empty.
TrainResult run_one_shot(const recipe::Recipe& recipe, models::Classifier& model, const data::Dataset& train_set,
                         const data::Dataset& test_set);

}  // namespace sparrow::compress
