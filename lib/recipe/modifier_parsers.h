#pragma once
// Tag -> parser table for the recipe's modifiers: one parser per SparseML tag
// Sparrow reads. Unknown tags, and SparseML tags Sparrow does not implement,
// are errors naming them.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "recipe/modifier_params.h"
#include "recipe/yaml_fields.h"

namespace sparrow::recipe {

// Appends the modifier(s) `node` describes to `out` (the mapping form of
// final_sparsity gives one per sparsity); errors go to ctx.diag.
void parse_modifier(const ParseContext& ctx, const YAML::Node& node, const std::string& stage,
                    std::vector<ModifierSpec>& out);
// The same for the mapping form's entry `name: {fields}` (llm-compressor's stages): `key` is the name's node,
// where the modifier is located.
void parse_named_modifier(const ParseContext& ctx, const YAML::Node& key, const YAML::Node& node,
                          const std::string& stage, std::vector<ModifierSpec>& out);

// Every tag Sparrow reads, without the '!'.
std::vector<std::string> modifier_tags();

// The params of a modifier that holds pruning masks on them; nullptr for others.
const std::vector<std::string>* pruning_params(const ModifierParams& p);

// Start and end (-1: open) of any modifier.
std::pair<double, double> epoch_range(const ModifierParams& p);

}  // namespace sparrow::recipe
