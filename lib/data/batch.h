#pragma once
// What a model consumes: a batch of inputs (images [B,C,H,W] float, or token
// ids [B,L] int64 with an attention mask) and their labels.
#include <torch/torch.h>

namespace sparrow::data {

struct Batch {
  torch::Tensor inputs;
  torch::Tensor attention_mask;  // undefined for images
  torch::Tensor labels;          // [B] int64
};

}  // namespace sparrow::data
