#include "recipe/param_patterns.h"

#include <algorithm>
#include <optional>
#include <regex>

#include "recipe/expression.h"
#include "recipe/modifier_parsers.h"

namespace sparrow::recipe {

namespace {

std::string epoch_text(double e) { return e < 0 ? "the end" : format_number(e); }

bool one_shot(const ModifierParams& p) {
  return std::holds_alternative<WandaPruningParams>(p) || std::holds_alternative<SparseGPTParams>(p);
}

// [start, end) shared by two modifiers, if any; end -1 is open.
std::optional<std::pair<double, double>> overlap(const ModifierParams& a, const ModifierParams& b) {
  const auto [s1, e1] = epoch_range(a);
  const auto [s2, e2] = epoch_range(b);
  const double start = std::max(s1, s2);
  const double end = e1 < 0 ? e2 : e2 < 0 ? e1 : std::min(e1, e2);
  if (end >= 0 && end <= start) return std::nullopt;
  return std::make_pair(start, end);
}

std::string overlap_message(const ModifierSpec& a, const ModifierSpec& b, const std::string& what,
                            std::pair<double, double> range) {
  const std::string when = one_shot(a.params) && one_shot(b.params)
                               ? " in one shot, before training"
                               : " during epochs [" + format_number(range.first) + ", " + epoch_text(range.second) + ")";
  return b.location + ": !" + b.tag + " and !" + a.tag + " (at " + a.location + ") both prune " + what + when +
         "; give each parameter to one pruning modifier at a time";
}

bool names_module(const std::string& module, const ModelParams& model) {
  return std::any_of(model.all.begin(), model.all.end(),
                     [&](const std::string& p) { return p.rfind(module + ".", 0) == 0; });
}

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += " " + n;
  return out;
}

}  // namespace

bool pattern_matches(const std::string& pattern, const std::string& name, const ModelParams& model) {
  if (pattern == "__ALL__") return true;
  if (pattern == "__ALL_PRUNABLE__")
    return std::find(model.prunable.begin(), model.prunable.end(), name) != model.prunable.end();
  if (pattern.rfind("re:", 0) == 0) {
    try {
      return std::regex_match(name, std::regex(pattern.substr(3)));
    } catch (const std::regex_error&) {
      return false;  // reported when the recipe was parsed
    }
  }
  return pattern == name;
}

std::vector<std::string> select_params(const std::vector<std::string>& patterns, const ModelParams& model) {
  std::vector<std::string> out;
  for (const auto& name : model.all)
    if (std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return pattern_matches(p, name, model); }))
      out.push_back(name);
  return out;
}

std::vector<std::string> check_against_model(const Recipe& recipe, const ModelParams& model) {
  std::vector<std::string> errors;
  std::vector<std::vector<std::string>> selected(recipe.modifiers.size());
  for (size_t i = 0; i < recipe.modifiers.size(); ++i) {
    const ModifierSpec& m = recipe.modifiers[i];
    if (const auto* patterns = pruning_params(m.params)) {
      for (const auto& p : *patterns)
        if (select_params({p}, model).empty())
          errors.push_back(m.location + ": " + (one_shot(m.params) ? "targets" : "params") + " pattern '" + excerpt(p) + "' of !" + m.tag +
                           " matches no parameter of the model; prunable parameters:" + list(model.prunable));
      selected[i] = select_params(*patterns, model);
    }
    const auto check_modules = [&](const std::vector<std::string>& modules, const char* field) {
      for (const auto& module : modules)
        if (!names_module(module, model))
          errors.push_back(m.location + ": " + field + " '" + excerpt(module) + "' of !" + m.tag + " names no module of the model");
    };
    if (const auto* layers = std::get_if<LayerPruningParams>(&m.params)) check_modules(layers->layers, "layer");
    if (const auto* q = std::get_if<QuantizationParams>(&m.params)) check_modules(q->submodules, "submodule");
  }
  for (size_t j = 0; j < recipe.modifiers.size(); ++j)
    for (size_t i = 0; i < j; ++i) {
      // Two one-shot modifiers (both [0, 0): once, before training) act at the same moment: the second would
      // prune what the first left. Checked here, on the weights they select, and not on their patterns alone,
      // since several one-shot modifiers with the default targets in one recipe is how their defaults are read.
      const bool both_one_shot = one_shot(recipe.modifiers[i].params) && one_shot(recipe.modifiers[j].params);
      const auto range = both_one_shot ? std::make_optional(std::make_pair(0.0, 0.0))
                                       : overlap(recipe.modifiers[i].params, recipe.modifiers[j].params);
      if (!range || selected[i].empty() || selected[j].empty()) continue;
      for (const auto& name : selected[j])
        if (std::find(selected[i].begin(), selected[i].end(), name) != selected[i].end()) {
          errors.push_back(overlap_message(recipe.modifiers[i], recipe.modifiers[j], "'" + name + "'", *range));
          break;
        }
    }
  return errors;
}

std::vector<std::string> check_shared_patterns(const Recipe& recipe) {
  std::vector<std::string> errors;
  for (size_t j = 0; j < recipe.modifiers.size(); ++j) {
    const auto* pj = pruning_params(recipe.modifiers[j].params);
    if (!pj) continue;
    for (size_t i = 0; i < j; ++i) {
      const auto* pi = pruning_params(recipe.modifiers[i].params);
      if (!pi) continue;
      const auto range = overlap(recipe.modifiers[i].params, recipe.modifiers[j].params);
      if (!range) continue;
      const auto shared = std::find_first_of(pj->begin(), pj->end(), pi->begin(), pi->end());
      if (shared != pj->end()) {
        errors.push_back(overlap_message(recipe.modifiers[i], recipe.modifiers[j], "'" + *shared + "'", *range));
        break;
      }
    }
  }
  return errors;
}

}  // namespace sparrow::recipe
