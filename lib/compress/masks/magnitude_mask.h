#pragma once
// Unstructured magnitude masks: exactly round(sparsity * numel) zeros, the
// smallest |w| first (ties broken by position, so masks are reproducible).
#include <torch/torch.h>

namespace sparrow::compress {

// A float mask of `weight`'s shape with 0 where the weight is pruned.
torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity);

// Fraction of exact zeros in a tensor.
double zero_fraction(const torch::Tensor& t);

}  // namespace sparrow::compress
