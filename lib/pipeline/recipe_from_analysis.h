// `compress analyze --write-recipe`: a recipe whose per-layer sparsities come from an allocation
// (sparsity_allocation.h). The written recipe is the base recipe (the uniform one it refines) as it resolves,
// with its one magnitude-pruning modifier replaced by one modifier per chosen sparsity, each naming its layers
// (SparseML's per-layer `params` groups, as the mapping form of final_sparsity expands), every other field
// and modifier unchanged; paths the base gives relative to its folder are rewritten relative to the new file's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/sparsity_allocation.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

// The index in base.modifiers of its one !GMPruningModifier (or !MagnitudePruningModifier): BadInput naming
// `flag` when it has none or several, or when that modifier's mask is not one of `analysed_masks`.
std::size_t rewritable_pruning_modifier(const recipe::Recipe& base, const std::string& flag,
                                        const std::vector<std::string>& analysed_masks);

// The layers of `analysed` (the analysis's layer names) that modifier `index` of `base` selects.
std::vector<std::string> selected_layers(const recipe::Recipe& base, std::size_t index,
                                         const std::vector<std::string>& analysed);

// The written recipe's text: a comment block (what it was written from, the target and the predicted figures,
// one line per layer), then the recipe. It parses back (checked here: InternalError otherwise) to base's
// recipe with modifier `index` replaced as the header says. Layers left dense get no modifier.
std::string recipe_from_allocation(const recipe::Recipe& base, std::size_t index, const Allocation& allocation,
                                   const std::filesystem::path& out_file, const std::string& written_from);

}  // namespace sparrow::pipeline
