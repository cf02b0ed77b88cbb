#pragma once
// An in-memory classification dataset and the deterministic batches drawn
// from it.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/batch.h"
#include "format/input_normalization.h"
#include "recipe/recipe.h"

namespace sparrow::data {

// What the labels are: one class per item, or a causal language model's next-token targets.
enum class TaskKind { Classification, CausalLm };

// A causal-LM label that is not scored (padding), Hugging Face's ignore index.
constexpr int64_t kIgnoredLabel = -100;

struct Dataset {
  std::string name;
  torch::Tensor inputs;          // [N, ...]
  torch::Tensor attention_mask;  // [N, L] or undefined
  torch::Tensor labels;          // [N] int64; causal LM: [N, T], the input ids with kIgnoredLabel at padding
  std::vector<std::string> label_names;
  TaskKind task = TaskKind::Classification;
  // Image datasets: how raw pixels became `inputs` (the exporter stores it, so the engine takes pixels).
  std::optional<format::InputNormalization> normalization;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t num_classes() const { return static_cast<int64_t>(label_names.size()); }
  Batch batch(const torch::Tensor& indices) const;
};

// The order of items in an epoch: a Fisher-Yates shuffle seeded by (seed, epoch),
// so a run is reproducible and every epoch sees a new order.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// Slices `order` into batches of `batch_size` (the last one may be smaller).
std::vector<torch::Tensor> make_batches(const std::vector<int64_t>& order, int64_t batch_size);

enum class Split { Train, Test };

// Loads the dataset a recipe names ("fashion_mnist"), honouring path and limits.
Dataset load_dataset(const recipe::DataSpec& spec, Split split);

}  // namespace sparrow::data
