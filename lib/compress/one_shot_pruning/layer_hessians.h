#pragma once
// The calibration pass of one-shot pruning: each selected linear layer's Hessian H = 2 X^T X / n over the n
// input rows it sees when calibration batches run through the model (a [B, T, in] input gives B * T rows, less
// the padding positions of the batch's attention mask),
// taken layer block by layer block so that a block sees its inputs through the blocks before it, already
// pruned (SparseGPT's sequential order).
//
// A layer block is the layers that share a model path up to its first number (model.layers.3.self_attn.q_proj
// and model.layers.3.mlp.down_proj are in block model.layers.3; bert.encoder.layer.0.* in bert.encoder.layer.0);
// a layer without a number in its path is a block of its own. Blocks go in the order their first layer runs.
// A forward pass stops once the block's last layer has its input, so block l costs a pass through blocks 0..l.
#include <functional>
#include <string>
#include <vector>

#include "data/batch.h"
#include "models/classifier.h"

namespace sparrow::compress {

// Called once per selected layer: `weight` is the parameter (changed in place), `hessian` its [in, in] FP64 H.
using LayerPruner = std::function<void(const std::string& weight_name, torch::Tensor& weight, const torch::Tensor& hessian)>;

// `weights`: parameter names of linear layers' weights (BadInput at `location` for any other). `sequential`
// false: one pass over the dense model gives every Hessian, then every layer is pruned. The model's own linear
// hook is set aside meanwhile; the model runs in eval mode without gradients.
void prune_with_hessians(models::Classifier& model, const std::vector<data::Batch>& batches,
                         const std::vector<std::string>& weights, bool sequential, const std::string& location,
                         const LayerPruner& prune);

// The block a layer (module name) belongs to, as above.
std::string layer_block(const std::string& module);

}  // namespace sparrow::compress
