// What both command lines (compress, sparrow) do once their flags are declared: parse (a parse error is bad
// input), set up the console log, run the chosen subcommand, turn an exception into its exit code, and make
// sure what was printed reached standard output.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
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

// --threads N and its environment twin SPARROW_THREADS (the flag wins), both held to the engine's range
// (engine::parse_thread_count, 1 to engine::kMaxThreads). `threads` keeps its value, described by
// `default_text`, when neither is set. A bad value is a parse error (exit 2) naming the flag or the variable.
CLI::Option* add_threads_option(CLI::App& app, int& threads, const std::string& help, const std::string& default_text);

// `fallback` runs when no subcommand was given (null: that is bad input). When writing to standard output
// failed (a full disk, a closed pipe), the exit code is 2 if it would have been 0, and the reason is logged.
int run_cli(CLI::App& app, int argc, char** argv, const ConsoleFlags& console,
            const std::vector<std::pair<CLI::App*, Action>>& subcommands, const Action& fallback = nullptr);

}  // namespace sparrow::apps
