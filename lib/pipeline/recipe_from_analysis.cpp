#include "pipeline/recipe_from_analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <variant>

#include "core/errors.h"
#include "pipeline/recipe_copy.h"
#include "recipe/expression.h"
#include "recipe/param_patterns.h"

namespace sparrow::pipeline {

namespace fs = std::filesystem;

std::size_t rewritable_pruning_modifier(const recipe::Recipe& base, const std::string& flag,
                                        const std::vector<std::string>& analysed_masks) {
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < base.modifiers.size(); ++i)
    if (std::holds_alternative<recipe::GMPruningParams>(base.modifiers[i].params)) found.push_back(i);
  if (found.size() != 1)
    throw BadInput(fmt::format("{}: {} has {} !GMPruningModifier (or !MagnitudePruningModifier); the written recipe "
                               "replaces exactly one, so the base recipe must have one",
                               flag, base.file.string(), found.size()));
  const auto& p = std::get<recipe::GMPruningParams>(base.modifiers[found[0]].params);
  if (std::find(analysed_masks.begin(), analysed_masks.end(), p.mask.name()) == analysed_masks.end())
    throw BadInput(fmt::format("{}: {}'s pruning modifier ({}) has mask_type {}, which --mask does not analyse "
                               "(add it to --mask)",
                               flag, base.file.string(), base.modifiers[found[0]].location, p.mask.name()));
  return found[0];
}

std::vector<std::string> selected_layers(const recipe::Recipe& base, std::size_t index,
                                         const std::vector<std::string>& analysed) {
  const auto& p = std::get<recipe::GMPruningParams>(base.modifiers.at(index).params);
  return recipe::select_params(p.params, recipe::ModelParams{analysed, analysed});
}

std::string recipe_from_allocation(const recipe::Recipe& base, std::size_t index, const Allocation& a,
                                   const fs::path& out_file, const std::string& written_from) {
  recipe::Recipe r = base;
  rebase_recipe_paths(r, out_file.parent_path());

  // One modifier per chosen sparsity, sparsest first, each with the original's schedule and mask.
  std::map<double, std::vector<std::string>, std::greater<>> groups;
  for (const auto& l : a.layers)
    if (l.sparsity > 0) groups[l.sparsity].push_back(l.layer);
  const recipe::ModifierSpec original = r.modifiers.at(index);
  const auto& op = std::get<recipe::GMPruningParams>(original.params);
  std::vector<recipe::ModifierSpec> replacement;
  for (const auto& [s, names] : groups) {
    recipe::ModifierSpec m = original;
    recipe::GMPruningParams p = op;
    p.final_sparsity = s;
    p.init_sparsity = std::min(p.init_sparsity, s);
    p.params = names;
    m.params = p;
    replacement.push_back(m);
  }
  r.modifiers.erase(r.modifiers.begin() + static_cast<std::ptrdiff_t>(index));
  r.modifiers.insert(r.modifiers.begin() + static_cast<std::ptrdiff_t>(index), replacement.begin(), replacement.end());
  const std::string body = recipe::resolved_yaml(r);

  const bool by_sparsity = a.target.kind == AllocationTarget::Kind::sparsity;
  std::string text = fmt::format(
      "# Written by compress analyze --write-recipe (docs/analyze.md, \"Recipes written from the analysis\")\n"
      "# from {}\n"
      "# Base recipe: {} (its pruning modifier at {} replaced by one per chosen sparsity).\n"
      "# Target: {} {:g}, mask {}. Chosen: average sparsity {:.4f} over {} layers; predicted loss {:.4f}\n"
      "# (dense {:.4f}, each layer's measured change added); predicted speed-up {:.2f}x {}.\n"
      "# layer: sparsity, loss change measured with it alone\n",
      written_from, base.file.string(), original.location, by_sparsity ? "--target-sparsity" : "--target-speedup",
      a.target.value, a.mask, a.sparsity, a.layers.size(), a.predicted_loss, a.dense_loss, a.predicted_speedup,
      a.whole_model ? "of the whole model over LibTorch FP32\n# (sparrow bench --compare's setting, from the analysis's timings)"
                    : "of these layers' GEMMs over dense FP32\n# (the analysis's kernel timings; attention and the other ops are not in it)");
  for (const auto& l : a.layers)
    text += fmt::format("#   {}: {}, {:+.4f}\n", l.layer, l.sparsity > 0 ? recipe::format_number(l.sparsity) : "dense",
                        l.loss_change);
  text += body;
  // What is written must run as it says.
  if (recipe::resolved_yaml(recipe::parse_recipe(text, out_file.string())) != body)
    throw InternalError("the written recipe does not parse back to itself: " + out_file.string());
  return text;
}

}  // namespace sparrow::pipeline
