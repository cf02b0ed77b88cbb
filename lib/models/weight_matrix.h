#pragma once
// The matrix [out][K] a layer's weight is pruned as, quantized as and stored as. A linear weight is its own.
// A conv weight [out][C][kh][kw] is flattened with its input channels innermost, K in (ky, kx, c) order, when C
// is a multiple of 4: then a 1x4 block or a 4-wide group is 4 input channels at one kernel position (SparseML's
// grouping for convs), which the engine reads as 4 contiguous bytes of a channels-last feature map. Otherwise
// (a first conv over 1 or 3 colour channels) K is in PyTorch's flatten order, (c, ky, kx).
#include <torch/torch.h>

namespace sparrow::models {

bool channels_innermost(const torch::Tensor& weight);
torch::Tensor weight_matrix(const torch::Tensor& weight);
// The inverse: a [out][K] matrix back to a weight of `shape`.
torch::Tensor weight_from_matrix(const torch::Tensor& matrix, at::IntArrayRef shape);

}  // namespace sparrow::models
