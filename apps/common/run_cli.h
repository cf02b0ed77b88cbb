// What both command lines (compress, sparrow) do once their flags are declared: parse (a parse error is bad
// input), set up the console log, run the chosen subcommand, and turn an exception into its exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <utility>
#include <vector>

namespace sparrow::apps {

// What a subcommand runs after parsing; returns the exit code.
using Action = std::function<int()>;

struct ConsoleFlags {
  bool quiet = false;
  bool verbose = false;
};
void add_console_flags(CLI::App& app, ConsoleFlags& flags);

// `fallback` runs when no subcommand was given (null: that is bad input).
int run_cli(CLI::App& app, int argc, char** argv, const ConsoleFlags& console,
            const std::vector<std::pair<CLI::App*, Action>>& subcommands, const Action& fallback = nullptr);

}  // namespace sparrow::apps
