#pragma once
// The interface every zoo model implements: logits from a batch, and which of
// its parameters are weights a pruning recipe may select.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/batch.h"

namespace sparrow::models {

class Classifier : public torch::nn::Module {
 public:
  // [B, num_classes] logits.
  virtual torch::Tensor forward(const data::Batch& batch) = 0;
  // Names of the linear and conv weights (SparseML's __ALL_PRUNABLE__).
  virtual std::vector<std::string> prunable_parameters() const = 0;
  // The model: section that rebuilds this architecture (saved as config.json).
  virtual nlohmann::json config() const = 0;
};

}  // namespace sparrow::models
