#include "compress/masks/magnitude_mask.h"

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "models/weight_matrix.h"

namespace sparrow::compress {

using recipe::MaskKind;

namespace {

// The weight as its matrix [rows, cols] (models/weight_matrix.h: a conv's blocks run along input channels) padded
// with zeros to whole units.
struct Tiled {
  torch::Tensor padded;  // [R*r, C*c] for blocks; [rows, G*m] for N:M
  int64_t rows, cols;    // the unpadded matrix
};

Tiled tile(const torch::Tensor& weight, int64_t r, int64_t c, double pad_value = 0.0) {
  const auto w = models::weight_matrix(weight.detach());
  const int64_t rows = w.size(0), cols = w.size(1);
  const int64_t pr = (r - rows % r) % r, pc = (c - cols % c) % c;
  return {torch::constant_pad_nd(w, {0, pc, 0, pr}, pad_value), rows, cols};
}

// Per-unit scores (flattened) for `weight`; +inf marks a unit that may not be pruned.
torch::Tensor unit_scores(const torch::Tensor& weight, const MaskKind& kind) {
  if (kind.type == MaskKind::Type::Unstructured) return weight.detach().abs().flatten();
  if (kind.type == MaskKind::Type::Block) {
    const Tiled t = tile(weight, kind.rows, kind.cols);
    const int64_t R = t.padded.size(0) / kind.rows, C = t.padded.size(1) / kind.cols;
    const auto blocks = [&](const torch::Tensor& x) {
      return x.view({R, kind.rows, C, kind.cols}).sum({1, 3});
    };
    auto present = torch::zeros_like(t.padded);
    present.slice(0, 0, t.rows).slice(1, 0, t.cols).fill_(1.0);
    return (blocks(t.padded.abs()) / blocks(present)).flatten();
  }
  // N:M: only the M - N smallest of each group are candidates, so pruning all
  // of them gives exactly N:M, and fewer gives a smooth ramp towards it.
  const Tiled t = tile(weight, 1, kind.m);
  const auto groups = t.padded.abs().view({t.padded.size(0), -1, kind.m});
  const auto ranks = groups.argsort(/*dim=*/-1, /*descending=*/false).argsort(/*dim=*/-1, /*descending=*/false);
  auto scores = groups.clone();
  scores.masked_fill_(ranks >= (kind.m - kind.n), std::numeric_limits<float>::infinity());
  // Padding is never a candidate: its weights don't exist.
  auto present = torch::zeros_like(t.padded);
  present.slice(1, 0, t.cols).fill_(1.0);
  scores.masked_fill_(present.view_as(groups) == 0, std::numeric_limits<float>::infinity());
  return scores.flatten();
}

// Expands a per-unit keep mask back to the weight's shape.
torch::Tensor expand_units(const torch::Tensor& unit_keep, const torch::Tensor& weight, const MaskKind& kind) {
  const int64_t rows = weight.size(0), cols = weight.numel() / rows;
  if (kind.type == MaskKind::Type::Unstructured) return unit_keep.view(weight.sizes()).to(weight.dtype());
  torch::Tensor full;
  if (kind.type == MaskKind::Type::Block) {
    const int64_t R = (rows + kind.rows - 1) / kind.rows, C = (cols + kind.cols - 1) / kind.cols;
    full = unit_keep.view({R, 1, C, 1}).expand({R, kind.rows, C, kind.cols}).reshape({R * kind.rows, C * kind.cols});
  } else {
    full = unit_keep.view({rows, -1});
  }
  return models::weight_from_matrix(full.slice(0, 0, rows).slice(1, 0, cols), weight.sizes()).to(weight.dtype());
}

// Keep mask over `scores` removing the `k` lowest (stable: earlier units first on ties).
torch::Tensor keep_all_but_lowest(const torch::Tensor& scores, int64_t k) {
  auto keep = torch::ones(scores.sizes(), scores.options());
  if (k <= 0) return keep;
  const auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  keep.index_fill_(0, order.slice(0, 0, k), 0.0);
  return keep;
}

// How many units to remove so that about `sparsity` of the weights are removed.
int64_t units_to_remove(const torch::Tensor& scores, int64_t weights, double sparsity, const MaskKind& kind) {
  const int64_t prunable = (scores != std::numeric_limits<float>::infinity()).sum().item<int64_t>();
  const double per_unit = kind.type == MaskKind::Type::Block ? static_cast<double>(weights) / static_cast<double>(scores.numel()) : 1.0;
  const auto k = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(weights) / per_unit));
  return std::min(k, prunable);
}

}  // namespace

torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity, const MaskKind& kind) {
  torch::NoGradGuard no_grad;
  const auto scores = unit_scores(weight, kind);
  const auto keep = keep_all_but_lowest(scores, units_to_remove(scores, weight.numel(), sparsity, kind));
  return expand_units(keep, weight, kind);
}

std::vector<torch::Tensor> global_magnitude_masks(const std::vector<torch::Tensor>& weights, double sparsity,
                                                  const MaskKind& kind) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> scores;
  int64_t total = 0;
  for (const auto& w : weights) {
    scores.push_back(unit_scores(w, kind));
    total += w.numel();
  }
  const auto all = torch::cat(scores);
  const auto keep = keep_all_but_lowest(all, units_to_remove(all, total, sparsity, kind));
  std::vector<torch::Tensor> masks;
  int64_t offset = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const int64_t n = scores[i].numel();
    masks.push_back(expand_units(keep.slice(0, offset, offset + n), weights[i], kind));
    offset += n;
  }
  return masks;
}

void check_mask_fits(const MaskKind& kind, const std::string& name, const torch::Tensor& weight, const std::string& location) {
  if (kind.type == MaskKind::Type::Unstructured || weight.dim() == 0) return;
  const int64_t rows = weight.size(0), cols = rows > 0 ? weight.numel() / rows : 0;
  const int64_t unit_rows = kind.type == MaskKind::Type::Block ? kind.rows : 1;
  const int64_t unit_cols = kind.type == MaskKind::Type::Block ? kind.cols : kind.m;
  if (unit_rows <= rows && unit_cols <= cols) return;
  throw BadInput(location + ": mask_type " + kind.name() + " does not fit " + name + ", a " + std::to_string(rows) +
                 " x " + std::to_string(cols) + " matrix (outputs x inputs): its " +
                 (kind.type == MaskKind::Type::Block ? "blocks are " + std::to_string(unit_rows) + " x " + std::to_string(unit_cols)
                                                     : "groups are " + std::to_string(unit_cols) + " inputs wide") +
                 "; use a smaller mask_type or leave " + name + " out of params");
}

double zero_fraction(const torch::Tensor& t) {
  if (t.numel() == 0) return 0.0;
  return static_cast<double>((t == 0).sum().item<int64_t>()) / static_cast<double>(t.numel());
}

bool mask_respects_kind(const torch::Tensor& mask, const MaskKind& kind) {
  torch::NoGradGuard no_grad;
  if (kind.type == MaskKind::Type::Unstructured) return true;
  if (kind.type == MaskKind::Type::NofM) {
    const Tiled t = tile(mask, 1, kind.m, 1.0);
    const auto pruned = (t.padded.view({t.padded.size(0), -1, kind.m}) == 0).sum(-1);
    return (pruned <= kind.m - kind.n).all().item<bool>();
  }
  // Padding is given values outside {0, 1} that neither the max nor the min can pick.
  const Tiled low = tile(mask, kind.rows, kind.cols, -1.0);
  const Tiled high = tile(mask, kind.rows, kind.cols, 2.0);
  const int64_t R = low.padded.size(0) / kind.rows, C = low.padded.size(1) / kind.cols;
  const auto block_max = low.padded.view({R, kind.rows, C, kind.cols}).amax({1, 3});
  const auto block_min = high.padded.view({R, kind.rows, C, kind.cols}).amin({1, 3});
  return (block_max == block_min).all().item<bool>();
}

}  // namespace sparrow::compress
