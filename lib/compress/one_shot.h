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

// The calibration items of the recipe's !SparseGPTModifier / !WandaPruningModifier: the first (most
// num_calibration_samples any of them asks for) items of the first epoch's seeded order, in batches of
// train.batch_size; empty when the recipe has neither. BadInput when the training data has fewer items. A
// training recipe prunes with them at epoch 0, before its first step, and then fine-tunes.
std::vector<data::Batch> one_shot_calibration(const recipe::Recipe& recipe, const data::Dataset& train_set);

}  // namespace sparrow::compress
