// compress: trains, prunes and evaluates a model as a recipe says; see
// command.h for how subcommands plug in.
#include <torch/torch.h>

#include <vector>

#include "apps/compress/command.h"

int main(int argc, char** argv) {
  using namespace sparrow;
  apps::CommonFlags common;
  CLI::App app{"compress: prune, quantize and distill a model as a recipe says, and report what it kept.", "compress"};
  app.set_version_flag("--version", std::string("compress (Sparrow) ") + SPARROW_VERSION);
  app.footer(
      "Examples:\n"
      "  compress --recipe recipes/fashion_cnn90.yaml\n"
      "  compress --recipe recipes/fashion_cnn90.yaml --out runs/cnn90 --seed 3 --json\n"
      "  compress --recipe recipes/bert90.yaml\n"
      "  compress export --checkpoint out/fashion_cnn90/checkpoint --out cnn90.sparrow\n"
      "  compress eval --model out/bert90/checkpoint --data spam_assassin --predictions preds.jsonl\n"
      "  compress sweep --recipe recipes/fashion_cnn90_int8.yaml --sparsity 0.9,0.95 --mask block4,[4,4] --out sweeps/cnn\n"
      "Exit codes: 0 ok, 1 a gate failed, 2 bad input, 3 internal error.");
  apps::add_threads_option(app, common.threads, "Threads for LibTorch", "all cores");
  app.add_flag("--json", common.json, "Print the result as JSON on stdout");
  apps::add_console_flags(app, common);
  app.require_subcommand(0, 1);

  const apps::Action train = apps::register_train(app, common);
  CLI::App* check = app.add_subcommand("check", "Validate a recipe without training (with --model, its params too)");
  CLI::App* schedule = app.add_subcommand("schedule", "Print a recipe's per-epoch plan: lr, target sparsity, QAT, distillation");
  CLI::App* eval = app.add_subcommand("eval", "Evaluate a model folder on a dataset without training");
  CLI::App* export_cmd = app.add_subcommand("export", "Export a checkpoint folder to a .sparrow file for the engine");
  CLI::App* report = app.add_subcommand("report", "Write a run folder's report.html again from its report.json");
  CLI::App* analyze = app.add_subcommand("analyze", "Measure each layer's sensitivity to pruning and its engine time per sparsity");
  CLI::App* sweep = app.add_subcommand("sweep", "Run a recipe at several sparsities, masks and INT8 settings; tabulate and plot");
  std::vector<std::pair<CLI::App*, apps::Action>> subcommands = {
      {check, apps::register_check(*check, common)},
      {schedule, apps::register_schedule(*schedule, common)},
      {eval, apps::register_eval(*eval, common)},
      {export_cmd, apps::register_export(*export_cmd, common)},
      {sweep, apps::register_sweep(*sweep, common)},
      {report, apps::register_report(*report, common)},
      {analyze, apps::register_analyze(*analyze, common)},
  };

  // Every subcommand's LibTorch work runs on --threads threads.
  app.parse_complete_callback([&] {
    if (common.threads > 0) torch::set_num_threads(common.threads);
  });
  return apps::run_cli(app, argc, argv, common, subcommands, train);
}
