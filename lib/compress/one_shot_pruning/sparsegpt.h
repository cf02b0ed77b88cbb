#pragma once
// SparseGPT's step on one linear layer (Frantar & Alistarh 2023), as docs/one_shot.md states it: the mask and
// the second-order update of the weights left, from the layer's Hessian H = 2 X^T X / n over its n calibration
// inputs (rows of X). Computed in FP64.
//   1. Inputs that are always 0 (H_jj = 0) are dead: their weights are zeroed and H_jj set to 1.
//   2. H += dampening_frac * mean(diag H) * I.
//   3. U = the upper Cholesky factor of H^-1. When a factorization fails, dampening_frac is raised tenfold and
//      the step says so in the log (at most 6 times, then InternalError).
//   4. Columns go in blocks of block_size. Each block's mask comes from the scores w^2 / U_ii^2 (row_mask.h:
//      per row, or per block of rows, over the block's columns, pruning round(s * units up to the block's end)
//      - round(s * units before it) weights or blocks, so that each row prunes round(s * its units) in all; N:M
//      groups are chosen when their first column is reached, from the weights updated so far). Column i then sets q = w * mask, e = (w - q) / U_ii and
//      W[:, j] -= e * U[i, j] for the block's later columns j; the columns after the block get the block's
//      updates at once, W[:, end:] -= E U[block, end:] (the deferred update).
//   5. With `quantize` (GPTQ, Frantar et al. 2022, in Sparrow's INT8 scheme): a first pass without rounding
//      chooses the mask. Each row's scale s is then quant::weight_scale of the largest |w| that pass ends with
//      (its updates can grow a weight beyond the row's largest before, which a grid from the weights before
//      would clip), and a second
//      pass with that mask sets q = clamp(r(w * mask / s), -127, 127) * s in each column step, so the
//      compensation also absorbs the rounding. The scheme sets a row's scale from its largest weight when the
//      model is exported, so that weight (the first largest |w| of the first pass's row) is set to sign(w) * 127 * s when its
//      column comes: the exported scale is then the grid the other weights were rounded to.
#include <torch/torch.h>

#include <string>

#include "recipe/mask_kind.h"

namespace sparrow::compress {

struct SparseGptOptions {
  double sparsity = 0.0;
  recipe::MaskKind mask;
  int64_t block_size = 128;
  double dampening_frac = 0.01;
  bool quantize = false;  // step 5
};

struct SparseGptResult {
  torch::Tensor weight;         // the pruned and updated weight, the input's dtype and shape
  torch::Tensor mask;           // float, 1 kept, 0 pruned (a dead input's weights are 0 even where kept)
  torch::Tensor scale;          // quantize: each row's scale s [out] (FP64); undefined otherwise
  // The step's own estimate of the output error it made, 1/2 sum (w - q)^2 / U_ii^2 over every column step;
  // equal to ||(W - W') X^T||^2 / n when the damping is negligible.
  double error_estimate = 0.0;
  double dampening_frac = 0.0;  // the one used (raised when a Cholesky factorization failed)
};

// `weight` [out, in], `hessian` [in, in] (2 X^T X / n); `layer` names it in the log.
SparseGptResult sparsegpt_prune(const torch::Tensor& weight, const torch::Tensor& hessian, const SparseGptOptions& options,
                                const std::string& layer);

}  // namespace sparrow::compress
