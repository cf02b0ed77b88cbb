#pragma once
// Resolving a recipe's `params` patterns against a model's parameter names,
// without LibTorch: callers pass the names (compress check --model, train).
// Patterns: an exact name, "re:<regex>" (whole-name match), __ALL__ (every
// parameter) or __ALL_PRUNABLE__ (the linear and conv weights).
#include <string>
#include <vector>

#include "recipe/recipe.h"

namespace sparrow::recipe {

struct ModelParams {
  std::vector<std::string> all;       // every parameter, in the model's order
  std::vector<std::string> prunable;  // the weights __ALL_PRUNABLE__ selects
};

bool pattern_matches(const std::string& pattern, const std::string& name, const ModelParams& model);

// The parameters any of `patterns` selects, in the model's order.
std::vector<std::string> select_params(const std::vector<std::string>& patterns, const ModelParams& model);

// Every problem with the recipe's params against the model: a pattern that
// matches nothing (the message lists the prunable parameters), a layer or
// submodule that names no module, two pruning modifiers on one parameter at
// overlapping epochs. Each message starts with the modifier's location.
std::vector<std::string> check_against_model(const Recipe& recipe, const ModelParams& model);

// Without a model: pruning modifiers sharing a pattern at overlapping epochs.
std::vector<std::string> check_shared_patterns(const Recipe& recipe);

}  // namespace sparrow::recipe
