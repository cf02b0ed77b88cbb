#include "compress/one_shot_pruning/sparsegpt.h"

#include <spdlog/spdlog.h>

#include "compress/masks/row_mask.h"
#include "compress/quant/quant_scheme.h"
#include "core/errors.h"

namespace sparrow::compress {

namespace {

using torch::indexing::Slice;

// The upper Cholesky factor of (H + frac * mean(diag H) * I)^-1, raising frac until both factorizations succeed.
torch::Tensor inverse_cholesky_upper(const torch::Tensor& h, double& frac, const std::string& layer) {
  const double mean_diag = h.diagonal().mean().item<double>();
  const auto eye = torch::eye(h.size(0), h.options());
  constexpr int kRaises = 6;
  for (int attempt = 0;; ++attempt) {
    const auto [lower, info] = torch::linalg_cholesky_ex(h + frac * mean_diag * eye);
    if (info.item<int64_t>() == 0) {
      const auto [upper, info_inverse] = torch::linalg_cholesky_ex(torch::cholesky_inverse(lower), /*upper=*/true);
      if (info_inverse.item<int64_t>() == 0) return upper;
    }
    if (attempt == kRaises)
      throw InternalError(layer + ": the damped Hessian is not positive definite even with dampening_frac " +
                          std::to_string(frac));
    spdlog::warn("{}: Cholesky factorization of the damped Hessian failed; raising dampening_frac from {} to {}", layer,
                 frac, frac * 10);
    frac *= 10;
  }
}

}  // namespace

SparseGptResult sparsegpt_prune(const torch::Tensor& weight, const torch::Tensor& hessian, const SparseGptOptions& o,
                                const std::string& layer) {
  torch::NoGradGuard no_grad;
  auto w = weight.detach().to(torch::kFloat64).clone();
  auto h = hessian.detach().to(torch::kFloat64).clone();
  const int64_t cols = w.size(1);
  TORCH_CHECK(h.size(0) == cols && h.size(1) == cols, layer, ": the Hessian is not [in, in]");

  const auto dead = h.diagonal() == 0;
  h.diagonal().masked_fill_(dead, 1.0);
  w.index_put_({Slice(), dead}, 0.0);

  SparseGptResult result;
  result.dampening_frac = o.dampening_frac;
  // quantize (step 5): the mask of a pass without rounding, each row's scale and largest weight from the
  // weights that pass ends with (its updates can grow a weight beyond the row's largest before).
  torch::Tensor fixed_mask, pinned, pinned_value;
  if (o.quantize) {
    SparseGptOptions prune_only = o;
    prune_only.quantize = false;
    const SparseGptResult first = sparsegpt_prune(weight, hessian, prune_only, layer);
    fixed_mask = first.mask.to(torch::kFloat64);
    result.dampening_frac = first.dampening_frac;
    const auto kept = first.weight.to(torch::kFloat64);
    result.scale = weight_scales(kept.to(torch::kFloat32)).to(torch::kFloat64);
    pinned = kept.abs().argmax(1);
    pinned_value = kept.gather(1, pinned.unsqueeze(1)).squeeze(1).sign() * quant::kWeightMax * result.scale;
  }
  const auto u = inverse_cholesky_upper(h, result.dampening_frac, layer);
  auto mask = torch::ones_like(w);
  auto losses = torch::zeros({w.size(0)}, w.options());
  const bool n_of_m = o.mask.type == recipe::MaskKind::Type::NofM;
  for (int64_t begin = 0; begin < cols; begin += o.block_size) {
    const int64_t end = std::min(begin + o.block_size, cols), count = end - begin;
    auto w1 = w.slice(1, begin, end).clone();
    auto err1 = torch::zeros_like(w1);
    const auto u1 = u.slice(0, begin, end).slice(1, begin, end);
    const auto d = u1.diagonal();
    auto mask1 = mask.slice(1, begin, end);
    if (o.quantize) {
      mask1.copy_(fixed_mask.slice(1, begin, end));
    } else if (!n_of_m) {
      // Cumulative rounding: the column blocks up to `end` prune round(s * units up to end) units in all, so a
      // row ends at exactly the count a whole-row mask prunes, however the blocks round.
      const int64_t width = o.mask.type == recipe::MaskKind::Type::Block ? o.mask.cols : 1;
      const int64_t units = pruned_units(o.sparsity, (end + width - 1) / width) - pruned_units(o.sparsity, begin / width);
      mask1.copy_(row_mask(w1.square() / d.square(), o.sparsity, o.mask, units));
    }
    for (int64_t i = 0; i < count; ++i) {
      if (n_of_m && !o.quantize && i % o.mask.m == 0) {
        const int64_t stop = std::min(i + o.mask.m, count);
        mask1.slice(1, i, stop).copy_(row_mask(w1.slice(1, i, stop).square() / d.slice(0, i, stop).square(), o.sparsity, o.mask));
      }
      const auto col = w1.select(1, i);
      auto q = col * mask1.select(1, i);
      if (o.quantize)
        q = torch::where(pinned == begin + i, pinned_value,
                         torch::clamp(torch::round(q / result.scale), -quant::kWeightMax, quant::kWeightMax) * result.scale);
      const double di = d[i].item<double>();
      const auto e = (col - q) / di;
      losses += e.square() / 2;
      w1.slice(1, i).sub_(e.unsqueeze(1).mm(u1.slice(0, i, i + 1).slice(1, i)));
      w1.select(1, i).copy_(q);
      err1.select(1, i).copy_(e);
    }
    w.slice(1, begin, end).copy_(w1);
    if (end < cols) w.slice(1, end).sub_(err1.mm(u.slice(0, begin, end).slice(1, end)));
  }
  result.weight = (w * mask).to(weight.dtype());
  result.mask = mask.to(torch::kFloat32);
  result.error_estimate = losses.sum().item<double>();
  return result;
}

}  // namespace sparrow::compress
