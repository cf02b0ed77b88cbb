#pragma once
// Sparrow's own recipe sections: model, data, teacher, train, export, gates.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "recipe/recipe.h"
#include "recipe/yaml_fields.h"

namespace sparrow::recipe {

const std::vector<std::string>& section_names();

// Fills the matching part of `r` from `node`; errors go to ctx.diag.
void parse_section(const ParseContext& ctx, const std::string& name, const YAML::Node& node, Recipe& r);

}  // namespace sparrow::recipe
