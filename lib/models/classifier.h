#pragma once
// The interface every zoo model implements: logits from a batch, and which of
// its parameters are weights a pruning recipe may select.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/batch.h"
#include "data/dataset.h"
#include "models/linear_hook.h"
#include "models/structure.h"

namespace sparrow::models {

class Classifier : public torch::nn::Module {
 public:
  // [B, num_classes] logits, computed through the linear hook when one is set.
  // Callers use this; forward() is what each model implements.
  torch::Tensor logits(const data::Batch& batch) {
    ActiveHookScope scope(hook_.get());
    return forward(batch);
  }
  // logits() that also gives the model's hidden states, for hidden-state
  // distillation: BERT's are the embeddings' output, then each encoder
  // layer's, [B, L, hidden] each (Hugging Face's output_hidden_states order).
  torch::Tensor logits(const data::Batch& batch, std::vector<torch::Tensor>& hidden_states) {
    ActiveHookScope scope(hook_.get());
    return forward_with_hidden_states(batch, hidden_states);
  }
  virtual torch::Tensor forward(const data::Batch& batch) = 0;
  // Models without hidden states to distil keep this default, which throws BadInput.
  virtual torch::Tensor forward_with_hidden_states(const data::Batch& batch, std::vector<torch::Tensor>& hidden_states);
  virtual bool has_hidden_states() const { return false; }
  void set_linear_hook(std::shared_ptr<LinearHook> hook) { hook_ = std::move(hook); }
  const std::shared_ptr<LinearHook>& linear_hook() const { return hook_; }
  // Names of the linear and conv weights (SparseML's __ALL_PRUNABLE__).
  virtual std::vector<std::string> prunable_parameters() const = 0;
  // Names of the modules whose attention() INT8 attention may quantize (BERT's self-attention blocks).
  virtual std::vector<std::string> attention_blocks() const { return {}; }
  // The model: section that rebuilds this architecture (saved as config.json).
  virtual nlohmann::json config() const = 0;
  // Structured pruning: the removable units of a kind (empty: the model has
  // none), and their removal, after which config() states the new shapes.
  virtual std::vector<StructureGroup> structure_groups(StructureKind) const { return {}; }
  virtual void remove_units(StructureKind kind, const std::string& group, const std::vector<int64_t>& units);

 private:
  std::shared_ptr<LinearHook> hook_;
};

// Runs the first item of `data` through `model` (no gradients), so that data of
// another shape, or with more classes than the model has, is BadInput naming
// both before any training, not a LibTorch error in the middle of it. A causal-LM
// dataset needs logits [B, T, vocab] with every token id in the vocabulary.
void check_data_fits(Classifier& model, const data::Dataset& data);

}  // namespace sparrow::models
