// sparrow: the engine's command line — look inside, run and benchmark .sparrow files. See command.h for
// how subcommands plug in.
#include <utility>
#include <vector>

#include "apps/sparrow/command.h"

int main(int argc, char** argv) {
  using namespace sparrow;
  apps::CommonFlags common;
  CLI::App app{"sparrow: inspect, run, benchmark and generate with .sparrow models.", "sparrow"};
  app.set_version_flag("--version", std::string("sparrow ") + SPARROW_VERSION);
  app.footer(
      "Examples:\n"
      "  sparrow inspect out/bert90/model.sparrow\n"
      "  sparrow inspect model.sparrow --json\n"
      "  sparrow run model.sparrow --input texts.jsonl --output predictions.jsonl\n"
      "  sparrow bench model.sparrow --batch 8 --seq 128 --threads 2 --compare --json\n"
      "  sparrow generate llama.sparrow --prompt \"The Union\" --max-tokens 40\n"
      "Exit codes: 0 ok, 2 bad input (including a malformed .sparrow file), 3 internal error.");
  apps::add_console_flags(app, common);
  app.require_subcommand(1);

  std::vector<std::pair<CLI::App*, apps::Action>> subcommands;
  CLI::App* inspect = app.add_subcommand("inspect", "Show a .sparrow file's graph, layers, sizes and metadata");
  subcommands.emplace_back(inspect, apps::register_inspect(*inspect, common));
  CLI::App* run = app.add_subcommand("run", "Predict labels for the texts or images of a JSONL file");
  subcommands.emplace_back(run, apps::register_run(*run, common));
  CLI::App* bench = app.add_subcommand("bench", "Measure a model's speed (and LibTorch FP32's and INT8's with --compare)");
  subcommands.emplace_back(bench, apps::register_bench(*bench, common));
  CLI::App* generate = app.add_subcommand("generate", "Continue a prompt with a causal LM (a Llama export), streaming the text");
  subcommands.emplace_back(generate, apps::register_generate(*generate, common));

  return apps::run_cli(app, argc, argv, common, subcommands);
}
