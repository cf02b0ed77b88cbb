// `compress schedule --recipe FILE [--step E] [--json]`: the per-epoch plan a
// recipe describes, without training.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "core/errors.h"
#include "recipe/expression.h"
#include "recipe/limits.h"
#include "recipe/recipe.h"
#include "recipe/schedule.h"

namespace sparrow::apps {

namespace {

struct ScheduleFlags {
  std::string recipe_file;
  double step = 1.0;
  OverrideFlags overrides;
  bool json = false;  // also the top-level --json
};

int run_schedule(const ScheduleFlags& flags, const CommonFlags& common) {
  if (!(flags.step >= recipe::kMinScheduleStep && flags.step <= recipe::kMaxEpochs))
    throw BadInput("--step must be in [" + recipe::format_number(recipe::kMinScheduleStep) + ", " +
                   recipe::format_number(recipe::kMaxEpochs) + "] epochs, got " + recipe::format_number(flags.step));
  const recipe::Recipe r = recipe::load_recipe(flags.recipe_file, flags.overrides.overrides());
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  const recipe::Schedule s = recipe::make_schedule(r, flags.step);
  if (flags.json || common.json) std::cout << recipe::schedule_json(s).dump(2) << std::endl;
  else std::cout << recipe::schedule_text(s);
  return 0;
}

}  // namespace

Action register_schedule(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<ScheduleFlags>();
  sub.fallthrough();
  sub.add_option("--recipe", flags->recipe_file, "Recipe file (YAML, or Markdown with YAML front matter)")->required();
  sub.add_option("--step", flags->step, "Epochs between rows of the plan")->capture_default_str();
  sub.add_flag("--json", flags->json, "Print the plan as JSON: the modifiers, and one row per step");
  add_override_flags(sub, flags->overrides);
  sub.footer(
      "At most " + std::to_string(recipe::kMaxScheduleRows) + " rows; --step is in [" +
      recipe::format_number(recipe::kMinScheduleStep) + ", " + recipe::format_number(recipe::kMaxEpochs) + "] epochs.\n"
      "Examples:\n"
      "  compress schedule --recipe recipes/fashion_cnn90.yaml\n"
      "  compress schedule --recipe recipes/bert90.yaml --step 0.5 --json\n"
      "  compress schedule --recipe recipes/fashion_cnn90.yaml --set pruning_modifiers.0.final_sparsity=0.95\n"
      "Exit codes: 0 ok, 2 bad input.");
  return [flags, &common] { return run_schedule(*flags, common); };
}

}  // namespace sparrow::apps
