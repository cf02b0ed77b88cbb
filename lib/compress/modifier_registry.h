#pragma once
// Recipe modifier specs -> modifier objects: one explicit table, tag -> factory.
#include <memory>
#include <vector>

#include "compress/modifier.h"
#include "recipe/recipe.h"

namespace sparrow::compress {

std::unique_ptr<Modifier> make_modifier(const recipe::ModifierSpec& spec);
std::vector<std::unique_ptr<Modifier>> make_modifiers(const recipe::Recipe& recipe);

}  // namespace sparrow::compress
