#include "compress/report.h"

#include "compress/masks/magnitude_mask.h"
#include "compress/param_selection.h"
#include "core/sha256.h"

namespace sparrow::compress {

nlohmann::json make_report(const RunInfo& run) {
  using nlohmann::json;
  const auto& r = run.result;
  json epochs = json::array();
  for (const auto& e : r.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"lr", e.lr}, {"sparsity", e.sparsity}});

  json layers = json::array();
  for (const auto& name : run.model.prunable_parameters()) {
    const auto w = parameter(run.model, name);
    std::string mask = "none";
    for (const auto& [pruned_name, kind] : r.pruned)
      if (pruned_name == name) mask = kind;
    const std::string layer = name.substr(0, name.rfind('.'));
    const bool quantized = std::find(r.quantized.begin(), r.quantized.end(), layer) != r.quantized.end();
    layers.push_back({{"name", name},
                      {"shape", w.sizes().vec()},
                      {"sparsity", zero_fraction(w)},
                      {"mask", mask},
                      {"quantized", quantized}});
  }

  return {
      {"report_version", kReportVersion},
      {"sparrow_version", SPARROW_VERSION},
      {"recipe", run.recipe.file.string()},
      {"recipe_sha256", sha256_hex(run.recipe.text)},
      {"seed", run.recipe.train.seed},
      {"task", "classification"},
      {"model", run.model.config()},
      {"dataset", {{"name", run.train_set.name}, {"train_items", run.train_set.size()}, {"test_items", run.test_set.size()}}},
      {"epochs", epochs},
      {"layers", layers},
      {"dense", {{"accuracy", r.dense_accuracy ? json(*r.dense_accuracy) : json(nullptr)}}},
      {"compressed", {{"accuracy", r.final_accuracy}, {"sparsity", r.final_sparsity}, {"quantized", !r.quantized.empty()}}},
      {"engine", nullptr},
      {"gates", json::array()},
      {"wall_seconds", run.wall_seconds},
  };
}

}  // namespace sparrow::compress
