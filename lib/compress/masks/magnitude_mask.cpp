#include "compress/masks/magnitude_mask.h"

#include <cmath>

namespace sparrow::compress {

torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity) {
  torch::NoGradGuard no_grad;
  const int64_t n = weight.numel();
  const auto k = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(n)));
  auto mask = torch::ones({n}, weight.options());
  if (k > 0) {
    // A stable sort makes equal magnitudes (e.g. zeros already pruned) fall in index order.
    const auto order = std::get<1>(weight.detach().abs().flatten().sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
    mask.index_fill_(0, order.slice(0, 0, k), 0.0);
  }
  return mask.view(weight.sizes());
}

double zero_fraction(const torch::Tensor& t) {
  if (t.numel() == 0) return 0.0;
  return static_cast<double>((t == 0).sum().item<int64_t>()) / static_cast<double>(t.numel());
}

}  // namespace sparrow::compress
