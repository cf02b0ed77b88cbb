#pragma once
// CI gates: a recipe's thresholds checked against a run's report.json.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe.h"

namespace sparrow::recipe {

struct GateResult {
  std::string name;              // min_accuracy, max_accuracy_drop, min_accuracy_ratio, min_sparsity, min_speedup, max_perplexity, max_perplexity_ratio
  double threshold = 0;
  std::optional<double> value;   // nullopt: the report does not have the figure
  bool passed = false;
  std::string note;              // why a gate failed without a value, or despite it
  std::string measured_at;       // min_speedup: the engine check's configuration, "batch 1, 1 thread"
};

// The recipe's set gates, in the order above. Values come from the report:
// compressed.accuracy, dense.accuracy - compressed.accuracy, compressed.accuracy / dense.accuracy,
// compressed.sparsity, engine.speedup (the configuration GateSpec::speedup_batch and speedup_threads chose,
// named by engine.batch and engine.threads), then compressed.perplexity and compressed.perplexity /
// dense.perplexity (max_perplexity, max_perplexity_ratio: at most the threshold). A gate whose figure was not measured fails, and so does
// min_speedup when engine.reliable is false (the machine was too busy to measure).
std::vector<GateResult> evaluate_gates(const GateSpec& gates, const nlohmann::json& report);

// report.json's "gates": [{name, threshold, value, passed}] (+ note and measured_at when set).
nlohmann::json gates_json(const std::vector<GateResult>& results);

// One line per failed gate ("" when all passed): name, threshold, measured value, note.
std::string gate_failures(const std::vector<GateResult>& results);

}  // namespace sparrow::recipe
