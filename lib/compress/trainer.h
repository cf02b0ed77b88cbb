#pragma once
// The training loop: epochs of forward -> loss -> backward -> optimizer step,
// with the recipe's modifiers called at each event, and an evaluation on the
// test set after every epoch (for a causal LM, the validation windows' loss and perplexity).
#include <memory>
#include <optional>
#include <vector>

#include "compress/modifier.h"
#include "data/dataset.h"
#include "recipe/recipe.h"

namespace sparrow::compress {

struct EpochRecord {
  double epoch = 0;  // the fractional epoch reached at the end of this pass
  double loss = 0;   // mean training loss over the pass
  double accuracy = 0;  // classifiers
  // Causal LMs: the mean next-token loss over the evaluation set and its exponential.
  double validation_loss = 0;
  double perplexity = 0;
  double lr = 0;
  double sparsity = 0;  // zeros over the pruned parameters
};

struct TrainResult {
  std::vector<EpochRecord> epochs;
  // Accuracy of the model before any pruning started (last evaluation before it).
  std::optional<double> dense_accuracy;
  double final_accuracy = 0;
  // Causal LMs: the same moments measured by perplexity (the accuracies stay 0).
  std::optional<double> dense_perplexity;
  double final_perplexity = 0;
  double final_sparsity = 0;
  // Every pruned parameter with the mask kind that pruned it.
  std::vector<std::pair<std::string, std::string>> pruned;
  // Layers (module names) trained with quantization, still quantized at the end.
  std::vector<std::string> quantized;
};

struct Checkpointing;  // compress/training_checkpoint.h

// Fraction of items whose arg-max logit is the label.
double evaluate_accuracy(models::Classifier& model, const data::Dataset& test, int64_t batch_size);

// Trains for recipe::planned_epochs(); a recipe of 0 epochs runs one-shot (one_shot.h). `teacher` (frozen here) is what
// !DistillationModifier distills from; null when the recipe has none. `checkpointing` (null: none) says where resume
// checkpoints go and whether to continue from the latest; a recipe whose modifiers cannot be checkpointed
// (structured pruning) writes none, and one-shot runs have no loop to checkpoint.
TrainResult train(const recipe::Recipe& recipe, models::Classifier& model, const data::Dataset& train_set,
                  const data::Dataset& test_set, models::Classifier* teacher = nullptr,
                  const Checkpointing* checkpointing = nullptr);

}  // namespace sparrow::compress
