#pragma once
// Masks chosen row by row from a score per weight (higher: more worth keeping), as the one-shot pruning
// methods choose them (docs/one_shot.md): a weight matrix [out, in] keeps the same share of every output row,
// which is what the engine's sparse kernels balance their threads on.
//   unstructured  each row prunes its round(sparsity * in) lowest-scored weights;
//   N:M           each group of M consecutive inputs of a row prunes its M - N lowest (sparsity is 1 - N/M);
//   [r, 4]        rows are taken r at a time (from row 0) and cut into blocks of 4 inputs (from input 0, the last
//                 one narrower when in % 4 != 0); a block's score is the sum of its weights' scores, and each
//                 group of r rows prunes its round(sparsity * blocks) lowest-scored blocks.
// Ties go to the earlier position, so masks are reproducible. The blocks are those magnitude_mask and the
// exporter use (mask_respects_kind holds).
#include <torch/torch.h>

#include "recipe/mask_kind.h"

namespace sparrow::compress {

// A float mask of `scores`' shape [out, in]: 1 kept, 0 pruned. `units` >= 0 overrides how many weights
// (unstructured) or blocks (a [r, 4] kind) each row or group of rows prunes; N:M ignores it.
torch::Tensor row_mask(const torch::Tensor& scores, double sparsity, const recipe::MaskKind& kind, int64_t units = -1);

// round(sparsity * units), half to even as Sparrow rounds everywhere (and Python's round()).
int64_t pruned_units(double sparsity, int64_t units);

}  // namespace sparrow::compress
