// report.html: a run's report.json as a page a person reads, beside it in the output folder. Plots of loss,
// accuracy (perplexity for a causal LM), learning rate and sparsity per epoch; per-layer sparsity; the mask of
// the largest pruned layer (mask_picture.h); dense against compressed and engine accuracy and speed; gates;
// the resolved recipe; the machine. Written from the folder's files alone, so `compress report` regenerates it.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "pipeline/mask_picture.h"

namespace sparrow::pipeline {

// The page. `report` is report.json's content (docs/report.md); a key it lacks leaves its part out with a note.
std::string report_html(const nlohmann::json& report, const std::string& resolved_recipe, const std::optional<LayerMask>& mask);

// Writes `dir`/report.html (atomically) from `dir`/report.json, `dir`/recipe.resolved.yaml and `dir`/checkpoint.
// BadInput naming the file when report.json is missing or not a JSON object.
void write_report_html(const std::filesystem::path& dir);

}  // namespace sparrow::pipeline
