#include <catch2/catch.hpp>

#include <cmath>

#include "compress/masks/magnitude_mask.h"
#include "core/errors.h"

using namespace sparrow::compress;
using sparrow::recipe::MaskKind;

namespace {

// Straightforward per-block loop, independent of the tensor-op implementation:
// mean |w| of each r x c block (ragged edges: the weights present).
std::vector<double> block_means(const torch::Tensor& w2, int64_t r, int64_t c) {
  const auto a = w2.accessor<float, 2>();
  std::vector<double> means;
  for (int64_t i = 0; i < w2.size(0); i += r)
    for (int64_t j = 0; j < w2.size(1); j += c) {
      double sum = 0;
      int count = 0;
      for (int64_t di = i; di < std::min(i + r, w2.size(0)); ++di)
        for (int64_t dj = j; dj < std::min(j + c, w2.size(1)); ++dj) {
          sum += std::abs(a[di][dj]);
          ++count;
        }
      means.push_back(sum / count);
    }
  return means;
}

}  // namespace

TEST_CASE("block masks prune whole blocks with the lowest mean magnitude", "[compress][mask]") {
  torch::manual_seed(3);
  for (auto shape : {std::vector<int64_t>{16, 32}, {13, 30}, {8, 3, 3, 3}}) {
    for (const char* kind_name : {"block4", "[2,4]", "[4,4]"}) {
      const MaskKind kind = MaskKind::parse(kind_name);
      const auto w = torch::randn(shape);
      const auto mask = magnitude_mask(w, 0.75, kind);
      INFO(kind_name << " shape " << w.sizes());
      CHECK(mask.sizes() == w.sizes());
      CHECK(mask_respects_kind(mask, kind));
      // Every pruned block scores no higher than every kept block.
      const auto w2 = w.reshape({w.size(0), -1});
      const auto means = block_means(w2, kind.rows, kind.cols);
      const auto keep = block_means(mask.reshape({w.size(0), -1}), kind.rows, kind.cols);
      double max_pruned = 0, min_kept = 1e9;
      size_t pruned_blocks = 0;
      for (size_t b = 0; b < means.size(); ++b) {
        if (keep[b] == 0) {
          max_pruned = std::max(max_pruned, means[b]);
          ++pruned_blocks;
        } else {
          min_kept = std::min(min_kept, means[b]);
        }
      }
      CHECK(max_pruned <= min_kept + 1e-6);
      CHECK(static_cast<double>(pruned_blocks) == Approx(std::round(0.75 * means.size())).margin(1.0));
    }
  }
}

TEST_CASE("a conv's blocks run along its input channels when they are a multiple of 4", "[compress][mask]") {
  torch::manual_seed(5);
  const auto w = torch::randn({8, 12, 3, 3});
  for (const char* kind_name : {"block4", "[4,4]"}) {
    const MaskKind kind = MaskKind::parse(kind_name);
    const auto mask = magnitude_mask(w, 0.75, kind);
    INFO(kind_name);
    CHECK(mask.sizes() == w.sizes());
    // 75 % of the 8 / rows x 108 / 4 blocks, rounded to whole blocks (41 of 54 for [4,4]).
    const int64_t block_count = 8 / kind.rows * 108 / 4;
    CHECK((mask == 0).sum().item<int64_t>() == std::llround(0.75 * static_cast<double>(block_count)) * 4 * kind.rows);
    // A block: rows o0 .. o0 + kind.rows - 1, channels c0 .. c0 + 3, one kernel position; the lowest-magnitude
    // blocks go.
    std::vector<std::pair<double, bool>> blocks;  // (mean |w|, kept)
    for (int64_t o0 = 0; o0 < 8; o0 += kind.rows)
      for (int64_t c0 = 0; c0 < 12; c0 += 4)
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx) {
            const auto block = w.slice(0, o0, o0 + kind.rows).slice(1, c0, c0 + 4).select(2, ky).select(2, kx);
            const auto kept = mask.slice(0, o0, o0 + kind.rows).slice(1, c0, c0 + 4).select(2, ky).select(2, kx);
            REQUIRE((kept.min().item<float>() == kept.max().item<float>()));
            blocks.emplace_back(block.abs().mean().item<double>(), kept.min().item<float>() == 1.0f);
          }
    double max_pruned = 0, min_kept = 1e9;
    for (const auto& [mean, kept] : blocks) (kept ? min_kept : max_pruned) = kept ? std::min(min_kept, mean) : std::max(max_pruned, mean);
    CHECK(max_pruned <= min_kept + 1e-6);
  }
}

TEST_CASE("a partly pruned block is detected", "[compress][mask]") {
  auto mask = torch::ones({4, 8});
  CHECK(mask_respects_kind(mask, MaskKind::parse("block4")));
  mask[1][5] = 0;
  CHECK_FALSE(mask_respects_kind(mask, MaskKind::parse("block4")));
  mask[1][4] = mask[1][6] = mask[1][7] = 0;
  CHECK(mask_respects_kind(mask, MaskKind::parse("block4")));
  CHECK_FALSE(mask_respects_kind(mask, MaskKind::parse("[2,4]")));
}

TEST_CASE("N:M masks reach exactly N of M at their final sparsity and ramp before it", "[compress][mask]") {
  torch::manual_seed(4);
  const auto w = torch::randn({12, 22});  // ragged: 22 inputs = 5 groups of 4 + 2
  const MaskKind kind = MaskKind::parse("2:4");
  const auto half = magnitude_mask(w, 0.25, kind);
  CHECK(mask_respects_kind(half, kind));
  CHECK((half == 0).sum().item<int64_t>() == std::llround(0.25 * w.numel()));
  const auto full = magnitude_mask(w, 0.5, kind);
  const auto groups = full.slice(1, 0, 20).reshape({12, 5, 4});
  CHECK((groups.sum(-1) == 2).all().item<bool>());
  // Within each group the two kept weights are the two largest.
  const auto wg = w.slice(1, 0, 20).abs().reshape({12, 5, 4});
  const auto kept_min = (wg + (1 - groups) * 1e9).amin(-1);
  const auto pruned_max = (wg * (1 - groups)).amax(-1);
  CHECK((pruned_max <= kept_min).all().item<bool>());
}

TEST_CASE("global ranking uses one threshold across tensors", "[compress][mask]") {
  torch::manual_seed(5);
  const auto small = torch::randn({20, 20}) * 0.1;
  const auto large = torch::randn({20, 20});
  const auto masks = global_magnitude_masks({small, large}, 0.5);
  const int64_t zeros_small = (masks[0] == 0).sum().item<int64_t>();
  const int64_t zeros_large = (masks[1] == 0).sum().item<int64_t>();
  CHECK(zeros_small + zeros_large == 400);
  CHECK(zeros_small > zeros_large);
  const float max_pruned = std::max((small.abs() * (1 - masks[0])).max().item<float>(),
                                    (large.abs() * (1 - masks[1])).max().item<float>());
  const float min_kept = std::min((small.abs() + (1 - masks[0]) * 1e9).min().item<float>(),
                                  (large.abs() + (1 - masks[1]) * 1e9).min().item<float>());
  CHECK(max_pruned <= min_kept);
}

TEST_CASE("mask kinds must fit the weights they prune", "[compress][masks][limits]") {
  const auto w = torch::zeros({16, 8, 3, 3});  // a 16 x 72 matrix
  CHECK_NOTHROW(check_mask_fits(MaskKind::parse("[16,4]"), "conv.weight", w, "r.yaml:3:5"));
  CHECK_NOTHROW(check_mask_fits(MaskKind::parse("2:64"), "conv.weight", w, "r.yaml:3:5"));
  CHECK_THROWS_WITH(check_mask_fits(MaskKind::parse("[32,4]"), "conv.weight", w, "r.yaml:3:5"),
                    "r.yaml:3:5: mask_type [32,4] does not fit conv.weight, a 16 x 72 matrix (outputs x inputs): its "
                    "blocks are 32 x 4; use a smaller mask_type or leave conv.weight out of params");
  CHECK_THROWS_AS(check_mask_fits(MaskKind::parse("2:64"), "fc.weight", torch::zeros({4, 32}), "r.yaml:3:5"), sparrow::BadInput);
}
