#pragma once
// Applying --recipe-args and --set to a recipe's YAML tree, before any
// variable or eval(...) is evaluated, so an overridden variable flows into
// every expression that uses it.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "recipe/diagnostics.h"
#include "recipe/recipe.h"

namespace sparrow::recipe {

// True for a top-level mapping that holds modifier lists (a stage).
bool is_stage(const std::string& key, const YAML::Node& value);

// Variables: top-level (or stage-level) keys that are not sections, stages or modifier lists.
bool is_variable(const std::string& key, const YAML::Node& value);

// Changes `root` in place; each changed node is marked in `source` so errors
// about it name the flag. Errors (unknown variable or path) go to `diag`.
void apply_overrides(YAML::Node& root, const Overrides& overrides, Source& source, Diagnostics& diag);

}  // namespace sparrow::recipe
