// `compress check --recipe FILE [--model NAME_OR_DIR]`: parse and validate a
// recipe without training. With a model, its params patterns are resolved
// against the model's parameters too. Errors: exit 2, all of them at once.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "compress/masks/magnitude_mask.h"
#include "compress/param_selection.h"
#include "core/errors.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "recipe/diagnostics.h"
#include "recipe/param_patterns.h"
#include "recipe/recipe.h"

namespace sparrow::apps {

namespace {

struct CheckFlags {
  std::string recipe_file;
  std::string model;
  OverrideFlags overrides;
  bool json = false;  // also the top-level --json
};

// A checkpoint folder, or a zoo name built with the recipe's model: options
// when the recipe names the same model.
std::shared_ptr<models::Classifier> build_check_model(const std::string& model, const recipe::Recipe& r) {
  if (std::filesystem::is_directory(model)) return models::load_checkpoint(model);
  nlohmann::json config = r.model.name == model ? r.model.options : nlohmann::json::object();
  config["name"] = model;
  return models::build_model(config, "--model " + model);
}

// Every magnitude pruning modifier's mask_type against the shapes of the parameters it selects, as the
// trainer checks them before making any mask.
void check_mask_shapes(const recipe::Recipe& r, models::Classifier& model) {
  for (const auto& m : r.modifiers) {
    const recipe::GMPruningParams* p = std::get_if<recipe::GMPruningParams>(&m.params);
    if (const auto* g = std::get_if<recipe::GlobalMagnitudePruningParams>(&m.params)) p = g;
    if (!p) continue;
    for (const auto& name : compress::select_parameters(model, p->params, m.location))
      compress::check_mask_fits(p->mask, name, compress::parameter(model, name), m.location);
  }
}

int run_check(const CheckFlags& flags, const CommonFlags& common) {
  if (flags.recipe_file.empty()) throw BadInput("check needs --recipe FILE");
  const recipe::Recipe r = recipe::load_recipe(flags.recipe_file, flags.overrides.overrides());
  if (!flags.model.empty()) {
    const auto model = build_check_model(flags.model, r);
    recipe::ModelParams params;
    for (const auto& p : model->named_parameters()) params.all.push_back(p.key());
    params.prunable = model->prunable_parameters();
    const auto errors = recipe::check_against_model(r, params);
    if (!errors.empty()) throw BadInput(recipe::join_errors(flags.recipe_file, errors));
    check_mask_shapes(r, *model);
  }
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  if (flags.json || common.json) {
    nlohmann::json modifiers = nlohmann::json::array();
    for (const auto& m : r.modifiers)
      modifiers.push_back({{"path", m.path}, {"tag", m.tag}, {"location", m.location}, {"stage", m.stage}});
    std::cout << nlohmann::json{{"recipe", flags.recipe_file},
                                {"valid", true},
                                {"model_checked", !flags.model.empty()},
                                {"epochs", recipe::planned_epochs(r)},
                                {"modifiers", modifiers},
                                {"warnings", r.warnings}}
                     .dump(2)
              << std::endl;
  } else {
    std::cout << flags.recipe_file << ": ok, " << r.modifiers.size() << " modifier"
              << (r.modifiers.size() == 1 ? "" : "s") << " over " << recipe::planned_epochs(r) << " epochs"
              << (flags.model.empty() ? "" : ", params resolved against " + flags.model)
              << (r.warnings.empty() ? "" : ", " + std::to_string(r.warnings.size()) + " warning(s)") << std::endl;
    // Each modifier by the path --set takes (pruning_modifiers.0.final_sparsity=...), so nobody counts entries.
    for (const auto& m : r.modifiers) std::cout << "  " << m.path << "  !" << m.tag << "  " << m.location << "\n";
  }
  return 0;
}

}  // namespace

void add_override_flags(CLI::App& app, OverrideFlags& flags) {
  app.add_option("--set", flags.sets,
                 "Override a variable or a dotted field before eval: --set final_sparsity=0.95 --set train.batch_size=64 "
                 "(repeatable; later wins)");
  app.add_option("--recipe-args", flags.recipe_args,
                 "SparseML-style JSON object of variable overrides, applied before --set: '{\"num_epochs\": 8}'");
}

Action register_check(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<CheckFlags>();
  sub.fallthrough();
  sub.add_option("--recipe", flags->recipe_file, "Recipe file (YAML, or Markdown with YAML front matter)")->required();
  sub.add_option("--model", flags->model,
                 "Resolve params, and check mask_type against their shapes, on this model: a zoo name (cnn, mlp, ...) "
                 "or a checkpoint folder");
  add_override_flags(sub, flags->overrides);
  sub.add_flag("--json", flags->json,
               "Print the result as JSON: valid, epochs, warnings, and each modifier's path, tag and location");
  sub.footer(
      "Prints each modifier's --set path (e.g. pruning_modifiers.0), tag and location.\n"
      "Examples:\n"
      "  compress check --recipe recipes/fashion_cnn90.yaml\n"
      "  compress check --recipe recipes/fashion_cnn90.yaml --model cnn --set pruning_modifiers.0.mask_type=[4,4]\n"
      "  compress check --recipe recipes/bert90.yaml --recipe-args '{\"num_epochs\": 3}' --json\n"
      "Exit codes: 0 valid, 2 not (every error listed at once).");
  return [flags, &common] { return run_check(*flags, common); };
}

}  // namespace sparrow::apps
