// One `compress --recipe` run: recipe -> model and data -> starting model and teacher -> train -> checkpoint
// -> export -> report -> engine check -> gates. Its outputs (docs: report.json keys in the README) are staged
// and moved into place only when the run finished, so a failed run leaves the output folder as it was.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

#include "recipe/recipe.h"

namespace sparrow::pipeline {

struct RunOptions {
  std::filesystem::path out;        // the output folder
  std::filesystem::path model_dir;  // start from this model folder instead of the recipe's model.from (empty: model.from)
  int threads = 0;                  // the engine check's threads (<= 0: all cores)
  // Continue the unfinished `<out>.partial` from its last checkpoint (docs/resume.md) instead of starting anew.
  bool resume = false;
  // Called when this run's staged folder first holds a checkpoint (a run nested in another's folder: the
  // outer one must then keep its folder too).
  std::function<void()> on_resumable = {};
};

struct RunResult {
  nlohmann::json report;      // report.json as written; null on a distributed rank other than 0 (it writes no outputs)
  std::string gate_failures;  // empty when every gate passed
};

// Runs a loaded recipe (its seed as the caller set it). A failed gate does not throw: the outputs are written
// and `gate_failures` says why, so that the caller can print the report first. BadInput for a recipe this
// trainer cannot run or data that does not fit the model, or a resume whose recipe, data, binary or teacher
// differ from the ones that started the run; Interrupted when a signal asked to stop.
RunResult run(const recipe::Recipe& r, const RunOptions& options);

// The output folder when none is given: out/<recipe file name without extension>.
std::filesystem::path default_output_folder(const std::filesystem::path& recipe_file);

}  // namespace sparrow::pipeline
