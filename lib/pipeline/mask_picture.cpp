#include "pipeline/mask_picture.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <sstream>

#include "models/checkpoint.h"
#include "models/safetensors.h"
#include "models/weight_matrix.h"
#include "pipeline/svg_plot.h"

namespace sparrow::pipeline {

namespace {

constexpr int64_t kOverviewCells = 128;             // tiles along the longer side, at most
constexpr int64_t kDetailRows = 32, kDetailCols = 128;
constexpr double kOverviewPixels = 512;            // the longer side of the overview on the page
constexpr double kDetailCell = 4;                  // pixels per weight in the corner: 128 columns in 512 px
constexpr int kGreys = 10;                         // shades of the overview (kept fraction rounded to tenths)

// The weights of a layer entry whose shape has at least 2 positive integer dimensions; 0 for anything else.
int64_t weights_of(const nlohmann::json& layer) {
  const auto& shape = layer["shape"];
  if (!shape.is_array() || shape.size() < 2) return 0;
  int64_t n = 1;
  for (const auto& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() <= 0) return 0;
    n *= d.get<int64_t>();
  }
  return n;
}

// One row of cells as rects, a run of equal shade merged into one; shade 0 (white, the background) draws nothing.
void draw_row(std::ostringstream& out, const std::vector<int>& shades, double x0, double y, double cell_w, double cell_h) {
  for (size_t c = 0; c < shades.size();) {
    size_t end = c + 1;
    while (end < shades.size() && shades[end] == shades[c]) ++end;
    if (shades[c] > 0) {
      const int grey = 255 - shades[c] * 255 / kGreys;
      out << fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#{:02x}{:02x}{:02x}\"/>\n",
                         x0 + static_cast<double>(c) * cell_w, y, static_cast<double>(end - c) * cell_w, cell_h, grey, grey,
                         grey);
    }
    c = end;
  }
}

}  // namespace

std::optional<LayerMask> read_layer_mask(const nlohmann::json& report, const std::filesystem::path& checkpoint_dir) {
  if (!report.contains("layers") || !report["layers"].is_array()) return std::nullopt;
  const nlohmann::json* chosen = nullptr;
  for (const auto& layer : report["layers"]) {
    if (!layer.is_object() || !layer.contains("name") || !layer["name"].is_string() || !layer.contains("mask") ||
        !layer["mask"].is_string() || layer["mask"] == "none" || !layer.contains("shape") || weights_of(layer) == 0)
      continue;
    if (!chosen || weights_of(layer) > weights_of(*chosen)) chosen = &layer;
  }
  const auto file = checkpoint_dir / "model.safetensors";
  if (!chosen || !std::filesystem::is_regular_file(file)) return std::nullopt;
  const models::SafetensorsFile weights = models::read_safetensors(file);
  const std::string name = (*chosen)["name"].get<std::string>();
  const models::SafeTensorView* view = weights.find(name);
  if (!view || view->shape.size() < 2) return std::nullopt;
  const auto dtype = view->dtype;
  if (dtype != models::SafeDType::F32 && dtype != models::SafeDType::F64 && dtype != models::SafeDType::F16 &&
      dtype != models::SafeDType::BF16)
    return std::nullopt;
  const torch::Tensor w = models::float_tensor(*view, file.string());
  if (w.numel() == 0) return std::nullopt;
  LayerMask mask;
  mask.name = name;
  mask.kind = (*chosen)["mask"].get<std::string>();
  mask.rows = w.size(0);
  mask.cols = w.numel() / mask.rows;
  // As the masks see it: a conv's blocks along its input channels show as blocks.
  const torch::Tensor kept = models::weight_matrix(w).ne(0).to(torch::kUInt8).contiguous();
  mask.kept.assign(kept.data_ptr<uint8_t>(), kept.data_ptr<uint8_t>() + kept.numel());
  return mask;
}

int64_t overview_tile(int64_t rows, int64_t cols) {
  const int64_t longer = std::max(rows, cols);
  return (longer + kOverviewCells - 1) / kOverviewCells;
}

std::string mask_svg(const LayerMask& mask) {
  const int64_t tile = overview_tile(mask.rows, mask.cols);
  const int64_t tiles_y = (mask.rows + tile - 1) / tile, tiles_x = (mask.cols + tile - 1) / tile;
  const double cell = kOverviewPixels / static_cast<double>(std::max(tiles_x, tiles_y));
  const int64_t detail_rows = std::min(mask.rows, kDetailRows), detail_cols = std::min(mask.cols, kDetailCols);
  const double top = 50, overview_w = cell * tiles_x, overview_h = cell * tiles_y;
  // The corner below the overview, so that the picture fits a page's width.
  const double detail_x = 40, detail_top = top + overview_h + 60;
  const double width = 40 + std::max(overview_w, kDetailCell * static_cast<double>(kDetailCols)) + 40;
  const double height = detail_top + kDetailCell * static_cast<double>(detail_rows) + 20;

  std::ostringstream out;
  out << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} "
                     "{1:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{0:.0f}\" height=\"{1:.0f}\" "
                     "fill=\"white\"/>\n",
                     width, height)
      << fmt::format("<text x=\"40\" y=\"22\" font-size=\"14\">Mask of {} ({} × {}, {})</text>\n", svg::escape(mask.name),
                     mask.rows, mask.cols, svg::escape(mask.kind));

  // The overview: kept fraction per tile, in tenths.
  out << fmt::format("<g class=\"overview\" data-tile=\"{}\">\n", tile)
      << fmt::format("<text x=\"40\" y=\"{:.1f}\">whole matrix, {} × {} weights per cell</text>\n", top - 8, tile, tile);
  for (int64_t ty = 0; ty < tiles_y; ++ty) {
    std::vector<int> shades(static_cast<size_t>(tiles_x));
    for (int64_t tx = 0; tx < tiles_x; ++tx) {
      int64_t kept = 0, all = 0;
      for (int64_t r = ty * tile; r < std::min(mask.rows, (ty + 1) * tile); ++r)
        for (int64_t c = tx * tile; c < std::min(mask.cols, (tx + 1) * tile); ++c, ++all)
          kept += mask.kept[static_cast<size_t>(r * mask.cols + c)];
      shades[static_cast<size_t>(tx)] = static_cast<int>(std::lround(static_cast<double>(kept) * kGreys / static_cast<double>(all)));
    }
    draw_row(out, shades, 40, top + cell * static_cast<double>(ty), cell, cell);
  }
  out << fmt::format("<rect x=\"40\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#888\"/>\n", top,
                     overview_w, overview_h)
      << fmt::format("<text x=\"40\" y=\"{:.1f}\">x: {} inputs · y: {} outputs · black: all kept, white: all pruned</text>\n",
                     top + overview_h + 18, mask.cols, mask.rows)
      << "</g>\n";

  // The corner at one cell per weight.
  out << "<g class=\"detail\">\n"
      << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">rows 0–{}, columns 0–{}, one cell per weight</text>\n", detail_x, detail_top - 8,
                     detail_rows - 1, detail_cols - 1);
  for (int64_t r = 0; r < detail_rows; ++r) {
    std::vector<int> shades(static_cast<size_t>(detail_cols));
    for (int64_t c = 0; c < detail_cols; ++c)
      shades[static_cast<size_t>(c)] = mask.kept[static_cast<size_t>(r * mask.cols + c)] ? kGreys : 0;
    draw_row(out, shades, detail_x, detail_top + kDetailCell * static_cast<double>(r), kDetailCell, kDetailCell);
  }
  out << fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#888\"/>\n", detail_x,
                     detail_top, kDetailCell * static_cast<double>(detail_cols), kDetailCell * static_cast<double>(detail_rows))
      << "</g>\n</svg>\n";
  return out.str();
}

}  // namespace sparrow::pipeline
