#include "models/weight_matrix.h"

namespace sparrow::models {

bool channels_innermost(const torch::Tensor& weight) { return weight.dim() == 4 && weight.size(1) % 4 == 0; }

torch::Tensor weight_matrix(const torch::Tensor& weight) {
  if (channels_innermost(weight)) return weight.permute({0, 2, 3, 1}).reshape({weight.size(0), -1});
  return weight.reshape({weight.size(0), -1});
}

torch::Tensor weight_from_matrix(const torch::Tensor& matrix, at::IntArrayRef shape) {
  if (shape.size() == 4 && shape[1] % 4 == 0)
    return matrix.reshape({shape[0], shape[2], shape[3], shape[1]}).permute({0, 3, 1, 2}).contiguous();
  return matrix.reshape(shape);
}

}  // namespace sparrow::models
