#pragma once
// Magnitude masks of every kind (recipe/mask_kind.h). A weight is seen as a matrix
// [out, in * kernel...]; units (single weights, r x c blocks, or the N:M
// candidates) are scored by mean |w| and the round(sparsity * units) lowest
// are removed, ties broken by position so masks are reproducible. Ragged
// edges form smaller blocks scored by the mean of the weights they hold.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "recipe/mask_kind.h"

namespace sparrow::compress {

// A float mask of `weight`'s shape with 0 where the weight is pruned.
torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity, const recipe::MaskKind& kind = {});

// One threshold over all the weights (global ranking): the lowest-scoring
// units across every tensor are removed first.
std::vector<torch::Tensor> global_magnitude_masks(const std::vector<torch::Tensor>& weights, double sparsity,
                                                  const recipe::MaskKind& kind = {});

// BadInput at `location` when one unit of `kind` is larger than `weight` seen as a matrix [out, in * kernel...]
// (a block with more rows or columns, an N:M group wider than a row): such a mask cannot have the structure
// asked for. Checked before any mask is made, by the pruning modifiers and by `compress check --model`.
void check_mask_fits(const recipe::MaskKind& kind, const std::string& name, const torch::Tensor& weight, const std::string& location);

// Fraction of exact zeros in a tensor.
double zero_fraction(const torch::Tensor& t);

// True when `mask` has the structure of `kind`: every block entirely kept or
// entirely pruned; N:M: at most M - N pruned in every group.
bool mask_respects_kind(const torch::Tensor& mask, const recipe::MaskKind& kind);

}  // namespace sparrow::compress
