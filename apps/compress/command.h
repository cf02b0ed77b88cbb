#pragma once
// Each compress subcommand lives in its own file and declares its flags once.
// register_* adds the options to its CLI11 (sub)command and returns what to
// run after parsing; main() maps exceptions to exit codes.
#include <CLI/CLI.hpp>

#include <functional>

namespace sparrow::apps {

// Flags every subcommand understands.
struct CommonFlags {
  int threads = 0;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

using Action = std::function<int()>;

// Training is what `compress --recipe FILE` does without a subcommand.
Action register_train(CLI::App& app, const CommonFlags& common);
// `compress eval`: evaluate a model folder on a dataset without training.
Action register_eval(CLI::App& sub, const CommonFlags& common);

}  // namespace sparrow::apps
