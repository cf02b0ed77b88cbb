// The mask of one pruned layer as a picture for report.html: which weights the run kept. A layer of
// 768 × 3072 has 2.4 million weights, more than a page can draw one by one, so the picture has two parts:
// - an overview of the whole matrix in tiles (at most 128 along the longer side), each tile's grey the
//   fraction of its weights kept (black: all kept, white: all pruned), so uneven rows and columns show;
// - the top-left corner at one cell per weight (at most 32 rows × 128 columns), where the mask's pattern
//   (1×4 blocks, [r,4] blocks, 2:4) is visible.
// Rows are output channels (y), columns the input dimension (x), as the weight is stored [out, in]; a conv
// weight [out, in, kh, kw] is drawn as [out, in·kh·kw].
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::pipeline {

struct LayerMask {
  std::string name;  // the parameter, e.g. bert.encoder.layer.0.intermediate.dense.weight
  std::string kind;  // its mask kind as report.json names it (block4, [4,4], 2:4, unstructured)
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> kept;  // rows × cols, row-major: 1 where the weight is not zero
};

// The layer to draw: of report.json's `layers` pruned by a mask (not "none") with at least 2 dimensions, the one
// with the most weights (the first of equals), read from `checkpoint_dir`/model.safetensors. Nothing when no
// layer was pruned or the checkpoint does not hold it as a floating-point tensor; BadInput for an unreadable file.
std::optional<LayerMask> read_layer_mask(const nlohmann::json& report, const std::filesystem::path& checkpoint_dir);

// Tiles of the overview along each side: the side's length divided by this, rounded up.
int64_t overview_tile(int64_t rows, int64_t cols);

// The picture: one SVG with both parts, each kept weight or tile a rect (runs of equal grey in a row merged).
std::string mask_svg(const LayerMask& mask);

}  // namespace sparrow::pipeline
