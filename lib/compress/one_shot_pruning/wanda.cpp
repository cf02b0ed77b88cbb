#include "compress/one_shot_pruning/wanda.h"

#include "compress/masks/row_mask.h"

namespace sparrow::compress {

torch::Tensor wanda_mask(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity, const recipe::MaskKind& kind) {
  torch::NoGradGuard no_grad;
  const auto input_norms = hessian.detach().diagonal().to(torch::kFloat64).clamp_min(0).sqrt();
  return row_mask(weight.detach().to(torch::kFloat64).abs() * input_norms.unsqueeze(0), sparsity, kind);
}

}  // namespace sparrow::compress
