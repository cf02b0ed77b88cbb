#pragma once
// The loss a task trains with and the figures it is measured by, chosen by the dataset's task kind:
// - classification: cross-entropy of [B, C] logits against [B] labels; measured by accuracy;
// - causal LM, as Hugging Face's LlamaForCausalLM computes its loss: the logits at positions 0..T-2 predict
//   the labels at 1..T-1, labels kIgnoredLabel (padding) are not scored, and the loss is the mean negative
//   log-likelihood over the scored tokens; measured by that mean over a whole set and its exponential, the
//   perplexity.
#include <torch/torch.h>

#include <cstdint>

#include "data/dataset.h"
#include "models/classifier.h"

namespace sparrow::compress {

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels);

// The training loss of one batch's logits for `task`.
torch::Tensor task_loss(data::TaskKind task, const torch::Tensor& logits, const torch::Tensor& labels);

// A causal LM's figures over a set: the summed negative log-likelihood of its scored tokens.
struct LmScore {
  double nll_sum = 0;
  int64_t tokens = 0;
  double loss() const;        // nll_sum / tokens (0 for no tokens)
  double perplexity() const;  // exp(loss())
};

// The model in eval mode, no gradients, batch_size windows per forward pass; on a distributed run each rank
// scores its share and the sums are all-reduced.
LmScore evaluate_causal_lm(models::Classifier& model, const data::Dataset& set, int64_t batch_size);

}  // namespace sparrow::compress
