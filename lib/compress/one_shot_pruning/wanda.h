#pragma once
// Wanda (Sun et al. 2023) on one linear layer: weight (i, j) scores |W_ij| * ||X_j||_2, the norm of input j
// over the calibration inputs, and each output row keeps its highest-scored weights (row_mask.h gives the
// structures); the weights kept are not changed.
#include <torch/torch.h>

#include "recipe/mask_kind.h"

namespace sparrow::compress {

// `weight` [out, in]; `hessian` [in, in] = 2 X^T X / n, whose diagonal gives ||X_j||_2 up to one factor for
// all j (the same accumulation SparseGPT uses). Returns the float mask, 1 kept.
torch::Tensor wanda_mask(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity, const recipe::MaskKind& kind);

}  // namespace sparrow::compress
