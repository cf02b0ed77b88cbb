#pragma once
// Each compress subcommand lives in its own file and declares its flags once.
// register_* adds the options to its CLI11 (sub)command and returns what to
// run after parsing; main() maps exceptions to exit codes.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "apps/common/run_cli.h"
#include "recipe/recipe.h"

namespace sparrow::apps {

// Flags every subcommand understands.
struct CommonFlags : ConsoleFlags {
  int threads = 0;
  bool json = false;
};

// --set and --recipe-args, shared by train, check and schedule (check_command.cpp).
struct OverrideFlags {
  std::vector<std::string> sets;
  std::string recipe_args;
  recipe::Overrides overrides() const { return {recipe_args, sets}; }
};
void add_override_flags(CLI::App& app, OverrideFlags& flags);

// Training is what `compress --recipe FILE` does without a subcommand.
Action register_train(CLI::App& app, const CommonFlags& common);

// One `compress --recipe` run (train_command.cpp).
struct TrainFlags {
  std::string recipe_file;
  std::string out_dir;
  std::string model_dir;
  int64_t seed = -1;
  OverrideFlags overrides;
  int nproc = 0;              // > 0: start this many local ranks (compress --nproc N)
  double dist_timeout = 120;  // seconds a collective waits for the slowest rank
  bool resume = false;        // continue <out>.partial from its last checkpoint
};
// Returns 0; GateFailed after writing every output when a gate failed; BadInput, InternalError otherwise.
int run_train(const TrainFlags& flags, const CommonFlags& common);

// `compress sweep`: the recipe once per (mask, int8, sparsity) point, and the table and plot of them
// (sweep_command.cpp).
Action register_sweep(CLI::App& sub, const CommonFlags& common);
// `compress eval`: evaluate a model folder on a dataset without training.
Action register_eval(CLI::App& sub, const CommonFlags& common);

// `compress check` (`sub` is its subcommand): validate a recipe, and with
// --model its params, without training.
Action register_check(CLI::App& sub, const CommonFlags& common);

// `compress export`: a checkpoint folder -> a .sparrow file (export_command.cpp).
Action register_export(CLI::App& sub, const CommonFlags& common);

// `compress analyze`: per-layer sensitivity and engine time (analyze_command.cpp).
Action register_analyze(CLI::App& sub, const CommonFlags& common);

// `compress report`: report.html of a run folder written again (report_command.cpp).
Action register_report(CLI::App& sub, const CommonFlags& common);

// `compress schedule` (`sub` is its subcommand): the per-epoch plan of a recipe.
Action register_schedule(CLI::App& sub, const CommonFlags& common);

}  // namespace sparrow::apps
