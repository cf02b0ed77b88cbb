#pragma once
// A parsed, validated recipe: Sparrow's own sections (model, data, teacher,
// train, export, gates) and the SparseML-style modifier lists, with every
// variable, eval(...) and command-line override already applied.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recipe/modifier_params.h"

namespace sparrow::recipe {

struct ModelSpec {
  std::string name;        // "cnn", "mlp", ...; empty when the recipe has no model: section
  nlohmann::json options;  // the rest of the model: section, checked by the model factory
};

struct DataSpec {
  std::string dataset = "fashion_mnist";
  std::string path;         // empty: the built-in location
  int64_t train_limit = 0;  // 0: all items
  int64_t test_limit = 0;
  // Text corpora only (is_corpus_dataset): the share of whole documents held out, and the split's seed, apart
  // from train.seed so that runs with other training seeds are measured on the same held-out text.
  double validation_fraction = 0.1;
  double test_fraction = 0.1;
  uint64_t split_seed = 0;
};

// The text corpora a language model trains on (lib/data/text/corpus.h): sotu, moby_dick, and text (the
// user's .txt / .jsonl files at data.path). They are split by whole document, as DataSpec says.
inline bool is_corpus_dataset(const std::string& dataset) {
  return dataset == "sotu" || dataset == "moby_dick" || dataset == "text";
}

// Where the distillation teacher comes from: a checkpoint folder, or "self"
// (a copy of the model as it is before compression starts).
struct TeacherSpec {
  bool self = false;
  std::string checkpoint;
  bool defined() const { return self || !checkpoint.empty(); }
};

struct TrainSpec {
  double epochs = 1.0;
  int64_t batch_size = 64;
  std::string optimizer = "sgd";  // sgd | adamw
  double lr = 0.01;
  double momentum = 0.9;
  double weight_decay = 0.0;
  uint64_t seed = 0;
  int64_t eval_batch_size = 512;
  // A resume checkpoint every this many steps within an epoch, besides the one at each epoch's end (0: none
  // within epochs); Hugging Face's TrainingArguments.save_steps.
  int64_t save_steps = 0;
};

struct ExportSpec {
  bool enabled = false;  // true when the recipe has an export: section
  std::string format = "sparrow";
  std::string file = "model.sparrow";
};

// CI thresholds checked after a run; unset ones are not checked.
struct GateSpec {
  std::optional<double> min_accuracy;       // compressed.accuracy >= this
  std::optional<double> max_accuracy_drop;  // dense.accuracy - compressed.accuracy <= this
  std::optional<double> min_sparsity;       // compressed.sparsity >= this
  std::optional<double> min_accuracy_ratio; // compressed.accuracy / dense.accuracy >= this
  std::optional<double> min_speedup;        // engine.speedup >= this
  // The engine check's configuration that engine.speedup (and so min_speedup) reports: batch 1 or 32, and 1
  // thread or all of the run's (0). The report has the others too (pipeline/engine_check.h).
  int speedup_batch = 32;
  int speedup_threads = 0;
  // Causal LMs, measured by perplexity (lower is better):
  std::optional<double> max_perplexity;        // compressed.perplexity <= this
  std::optional<double> max_perplexity_ratio;  // compressed.perplexity / dense.perplexity <= this
  bool any() const {
    return min_accuracy || max_accuracy_drop || min_accuracy_ratio || min_sparsity || min_speedup || max_perplexity || max_perplexity_ratio ||
           speedup_batch != 32 || speedup_threads != 0;
  }
};

struct Recipe {
  std::filesystem::path file;
  std::string text;     // the recipe file as read, for its hash
  std::string version;  // the optional version: field, as written
  ModelSpec model;
  DataSpec data;
  TeacherSpec teacher;
  TrainSpec train;
  ExportSpec export_spec;
  GateSpec gates;
  std::vector<std::string> stages;  // stage names in file order; empty when not staged
  std::vector<ModifierSpec> modifiers;
  std::vector<std::string> warnings;  // things read but not honoured, each located
};

// Command-line changes applied to the recipe before any eval(...): SparseML's
// --recipe-args JSON object (variables), then each --set NAME=VALUE in order.
// NAME is a variable (in every stage that defines it), STAGE.VARIABLE, or a
// dotted field path such as train.batch_size or pruning_modifiers.0.end_epoch.
struct Overrides {
  std::string recipe_args_json;
  std::vector<std::string> sets;  // "NAME=VALUE", VALUE read as YAML
};

// Parses and validates a recipe file (YAML, or Markdown with YAML front
// matter). Throws one BadInput listing every error found, each with
// file:line:column.
Recipe load_recipe(const std::filesystem::path& file, const Overrides& overrides = {});
Recipe parse_recipe(const std::string& text, const std::string& file_name, const Overrides& overrides = {});

// The recipe as it runs (overrides, variables and eval applied), as YAML text
// that parses back to the same Recipe.
std::string resolved_yaml(const Recipe& recipe);

// Epochs a run trains: an !EpochRangeModifier's end_epoch, else train.epochs
// (the trainer's rule).
double planned_epochs(const Recipe& recipe);

}  // namespace sparrow::recipe
