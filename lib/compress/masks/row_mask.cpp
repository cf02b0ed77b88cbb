#include "compress/masks/row_mask.h"

#include <cmath>

namespace sparrow::compress {

namespace {

using torch::indexing::Slice;

// Per row of `units` [rows, n], zero in `mask` (same shape) the `prune` lowest-scored units.
void prune_lowest(const torch::Tensor& units, int64_t prune, torch::Tensor& mask) {
  if (prune <= 0) return;
  const auto order = std::get<1>(units.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));
  mask.scatter_(1, order.slice(1, 0, prune), 0.0);
}

}  // namespace

int64_t pruned_units(double sparsity, int64_t units) { return static_cast<int64_t>(std::nearbyint(sparsity * static_cast<double>(units))); }

torch::Tensor row_mask(const torch::Tensor& scores, double sparsity, const recipe::MaskKind& kind, int64_t units) {
  TORCH_CHECK(scores.dim() == 2, "row_mask takes a matrix [out, in]");
  const auto s = scores.detach().to(torch::kFloat64);
  const int64_t rows = s.size(0), cols = s.size(1);
  auto mask = torch::ones({rows, cols}, torch::kFloat32);
  switch (kind.type) {
    case recipe::MaskKind::Type::Unstructured: {
      prune_lowest(s, units >= 0 ? units : pruned_units(sparsity, cols), mask);
      break;
    }
    case recipe::MaskKind::Type::NofM: {
      for (int64_t c = 0; c < cols; c += kind.m) {
        const int64_t width = std::min(kind.m, cols - c);
        // A narrower last group prunes its share of M - N.
        const int64_t prune = width == kind.m ? kind.m - kind.n : pruned_units(sparsity, width);
        auto group = mask.slice(1, c, c + width);
        prune_lowest(s.slice(1, c, c + width), prune, group);
      }
      break;
    }
    case recipe::MaskKind::Type::Block: {
      const int64_t blocks = (cols + kind.cols - 1) / kind.cols;
      // Pad the inputs to whole blocks with zero scores that no kept block needs, then sum each block.
      const auto padded = torch::nn::functional::pad(s, torch::nn::functional::PadFuncOptions({0, blocks * kind.cols - cols}));
      const auto block_scores = padded.view({rows, blocks, kind.cols}).sum(2);
      for (int64_t r = 0; r < rows; r += kind.rows) {
        const int64_t height = std::min(kind.rows, rows - r);
        auto kept = torch::ones({1, blocks}, torch::kFloat32);
        prune_lowest(block_scores.slice(0, r, r + height).sum(0, /*keepdim=*/true), units >= 0 ? units : pruned_units(sparsity, blocks),
                     kept);
        const auto expanded = kept.repeat_interleave(kind.cols, 1).slice(1, 0, cols);
        mask.slice(0, r, r + height).copy_(expanded.expand({height, cols}));
      }
      break;
    }
  }
  return mask;
}

}  // namespace sparrow::compress
