#pragma once
// report.json: the machine-readable outcome of a run. Its keys are a contract
// (DESIGN.md); report_version changes if one is renamed.
#include <nlohmann/json.hpp>

#include "compress/trainer.h"
#include "data/dataset.h"
#include "recipe/recipe.h"

namespace sparrow::compress {

constexpr int kReportVersion = 1;

struct RunInfo {
  const recipe::Recipe& recipe;
  const data::Dataset& train_set;
  const data::Dataset& test_set;
  models::Classifier& model;
  const TrainResult& result;
  double wall_seconds = 0;
};

nlohmann::json make_report(const RunInfo& run);

}  // namespace sparrow::compress
