#pragma once
// A parsed, validated recipe: Sparrow's own sections (model, data, train) and
// the SparseML-style modifier lists.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "recipe/modifier_params.h"

namespace sparrow::recipe {

struct ModelSpec {
  std::string name;        // "cnn", "mlp", ...
  nlohmann::json options;  // the rest of the model: section, checked by the model factory
};

struct DataSpec {
  std::string dataset = "fashion_mnist";
  std::string path;         // empty: the built-in location
  int64_t train_limit = 0;  // 0: all items
  int64_t test_limit = 0;
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
};

struct Recipe {
  std::filesystem::path file;
  std::string text;  // the recipe file as read, for its hash
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
  std::vector<ModifierSpec> modifiers;
};

// Parses and validates a recipe file; BadInput names file:line:column on error.
Recipe load_recipe(const std::filesystem::path& file);
Recipe parse_recipe(const std::string& text, const std::string& file_name);

// The recipe as it ran (seed and overrides applied), as YAML text.
std::string resolved_yaml(const Recipe& recipe);

}  // namespace sparrow::recipe
