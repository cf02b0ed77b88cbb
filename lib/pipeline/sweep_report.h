// What `compress sweep` writes from its points: sweep.json (every figure), sweep.md (rows mask x INT8,
// columns sparsity, accuracy and speed-up in each cell), sweep.svg (engine accuracy, or a causal LM's engine
// perplexity, against engine speed-up, one polyline per mask and INT8 setting) and sweep.html (the tables and the plot on one
// self-contained page, html_page.h). Plain text out of plain data, so tests feed fixed points.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sparrow::pipeline {

struct SweepPoint {
  std::string name;      // its folder inside the sweep's output folder
  std::string method;    // the one-shot method put in the recipe (--method); empty: the recipe's own
  std::string mask;      // canonical mask name: unstructured, block4, [2,4], 2:4
  double sparsity = 0;   // the target (final_sparsity)
  bool int8 = true;      // trained with quantization (QAT) or not
  bool done = false;     // its report.json exists
  std::string error;     // why the point failed (not done)
  // From the point's report.json; unset when the run did not measure it.
  std::optional<double> trainer_accuracy;  // compressed.accuracy: quantized when int8
  std::optional<double> trainer_perplexity;  // compressed.perplexity, a causal LM's (validation windows)
  std::optional<double> engine_accuracy;
  std::optional<double> engine_perplexity;  // engine.perplexity, a causal LM's
  std::optional<double> speedup;           // engine vs dense FP32 LibTorch, same run (a causal LM: decoding's)
  std::optional<double> model_bytes;       // the exported .sparrow file
  std::optional<double> measured_sparsity; // compressed.sparsity
  std::optional<double> wall_seconds;
};

// Fills a point's figures from its report.json content.
void read_point_report(SweepPoint& point, const nlohmann::json& report);

nlohmann::json sweep_json(const std::string& recipe, const std::vector<SweepPoint>& points);
std::string sweep_markdown(const std::string& recipe, const std::vector<SweepPoint>& points);
std::string sweep_svg(const std::vector<SweepPoint>& points);
std::string sweep_html(const std::string& recipe, const std::vector<SweepPoint>& points);

}  // namespace sparrow::pipeline
