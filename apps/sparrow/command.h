#pragma once
// Each sparrow subcommand lives in its own file and declares its flags once: register_* adds them to its
// CLI11 subcommand and returns what to run after parsing; main() maps exceptions to exit codes.
#include <CLI/CLI.hpp>

#include "apps/common/run_cli.h"

namespace sparrow::apps {

// Flags every subcommand understands.
struct CommonFlags : ConsoleFlags {};

// `sparrow inspect FILE [--json]`: graph, per-layer storage and sizes, metadata (inspect_command.cpp).
Action register_inspect(CLI::App& sub, const CommonFlags& common);
// `sparrow run FILE --input IN.jsonl [--output OUT.jsonl] [--batch N]`: predictions per line (run_command.cpp).
Action register_run(CLI::App& sub, const CommonFlags& common);
// `sparrow bench FILE [--batch B] [--seq L] [--threads T] ... [--compare]`: speed (bench_command.cpp).
Action register_bench(CLI::App& sub, const CommonFlags& common);
// `sparrow generate FILE --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
// [--json]`: a causal LM continues a prompt (generate_command.cpp).
Action register_generate(CLI::App& sub, const CommonFlags& common);

}  // namespace sparrow::apps
