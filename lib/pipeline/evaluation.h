// A model's accuracy on a dataset in LibTorch, without training (compress eval): every item's logits and
// predicted label, to compare with another implementation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "models/classifier.h"

namespace sparrow::pipeline {

struct Evaluation {
  torch::Tensor logits;     // [items, classes]
  torch::Tensor predicted;  // [items], int64
  std::int64_t correct = 0;
  double accuracy = 0;          // correct / items (0 for no items)
  double items_per_second = 0;  // the forward passes' wall time
};

// The model in eval mode, no gradients, batch_size items per forward pass.
Evaluation evaluate(models::Classifier& model, const data::Dataset& set, std::int64_t batch_size);

// One JSON line per item: {"index", "label", "predicted", "logits"} and "predicted_name" when the dataset names
// its labels.
std::string predictions_jsonl(const Evaluation& e, const data::Dataset& set);

}  // namespace sparrow::pipeline
