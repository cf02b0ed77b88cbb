#include "compress/report.h"

#include "compress/masks/magnitude_mask.h"
#include "compress/param_selection.h"
#include "core/sha256.h"

namespace sparrow::compress {

nlohmann::json make_report(const RunInfo& run) {
  using nlohmann::json;
  const auto& r = run.result;
  const bool lm = run.train_set.task == data::TaskKind::CausalLm;
  json epochs = json::array();
  for (const auto& e : r.epochs) {
    json epoch = {{"epoch", e.epoch}, {"loss", e.loss}, {"lr", e.lr}, {"sparsity", e.sparsity}};
    if (lm) {
      epoch["validation_loss"] = e.validation_loss;
      epoch["validation_perplexity"] = e.perplexity;
    } else {
      epoch["accuracy"] = e.accuracy;
    }
    epochs.push_back(epoch);
  }

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

  // What the run is measured by: accuracy for classifiers, perplexity on the validation windows for causal LMs.
  const char* figure = lm ? "perplexity" : "accuracy";
  const std::optional<double> dense = lm ? r.dense_perplexity : r.dense_accuracy;
  json dataset = {{"name", run.train_set.name}, {"train_items", run.train_set.size()}, {"test_items", run.test_set.size()}};
  if (lm) {
    dataset["evaluated_on"] = run.test_set.name;
    dataset["window"] = run.train_set.inputs.size(1);
    dataset["train_tokens"] = run.train_set.attention_mask.sum().item<int64_t>();
    dataset["test_tokens"] = run.test_set.attention_mask.sum().item<int64_t>();
  }
  return {
      {"report_version", kReportVersion},
      {"sparrow_version", SPARROW_VERSION},
      {"recipe", run.recipe.file.string()},
      {"recipe_sha256", sha256_hex(run.recipe.text)},
      {"seed", run.recipe.train.seed},
      {"task", lm ? "causal_lm" : "classification"},
      {"model", run.model.config()},
      {"dataset", dataset},
      {"epochs", epochs},
      {"layers", layers},
      {"dense", {{figure, dense ? json(*dense) : json(nullptr)}}},
      {"compressed", {{figure, lm ? r.final_perplexity : r.final_accuracy}, {"sparsity", r.final_sparsity}, {"quantized", !r.quantized.empty()}}},
      {"engine", nullptr},
      {"gates", json::array()},
      {"wall_seconds", run.wall_seconds},
  };
}

}  // namespace sparrow::compress
