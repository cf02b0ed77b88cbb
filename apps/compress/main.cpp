// compress: trains, prunes and evaluates a model as a recipe says, and writes
// the checkpoint, report.json, the resolved recipe and the log into --out.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>

#include "compress/report.h"
#include "compress/trainer.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "recipe/recipe.h"

namespace {

using namespace sparrow;

struct Options {
  std::string recipe_file;
  std::string out_dir;
  int64_t seed = -1;
  int threads = 0;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

int run(const Options& opt) {
  const auto started = std::chrono::steady_clock::now();
  recipe::Recipe r = recipe::load_recipe(opt.recipe_file);
  if (opt.seed >= 0) r.train.seed = static_cast<uint64_t>(opt.seed);
  const fs::path out = opt.out_dir.empty() ? fs::path("out") / fs::path(opt.recipe_file).stem() : fs::path(opt.out_dir);

  torch::manual_seed(r.train.seed);
  nlohmann::json model_config = r.model.options;
  model_config["name"] = r.model.name;
  auto model = models::build_model(model_config, opt.recipe_file);
  const data::Dataset train_set = data::load_dataset(r.data, data::Split::Train);
  const data::Dataset test_set = data::load_dataset(r.data, data::Split::Test);
  spdlog::info("recipe {}: model {}, {} train / {} test items of {}", opt.recipe_file, r.model.name,
               train_set.size(), test_set.size(), train_set.name);

  StagedDir staging(out);
  log_to_file(staging.path() / "log.txt");
  const compress::TrainResult result = compress::train(r, *model, train_set, test_set);

  models::save_checkpoint(staging.path() / "checkpoint", *model, {{"recipe_sha256", sha256_hex(r.text)}});
  write_file_atomic(staging.path() / "recipe.resolved.yaml", recipe::resolved_yaml(r));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const nlohmann::json report = compress::make_report({r, train_set, test_set, *model, result, wall});
  write_file_atomic(staging.path() / "report.json", report.dump(2) + "\n");
  spdlog::info("dense accuracy {}, compressed accuracy {:.4f} at sparsity {:.4f}; outputs in {}",
               result.dense_accuracy ? fmt::format("{:.4f}", *result.dense_accuracy) : "n/a", result.final_accuracy,
               result.final_sparsity, out.string());
  close_log_file();
  staging.commit();
  if (opt.json) std::cout << report.dump(2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"compress: prune a model as a recipe says and report what it kept.", "compress"};
  app.set_version_flag("--version", std::string("compress (Sparrow) ") + SPARROW_VERSION);
  app.footer(
      "Examples:\n"
      "  compress --recipe recipes/fashion_cnn90.yaml\n"
      "  compress --recipe recipes/fashion_cnn90.yaml --out runs/cnn90 --seed 3 --json\n"
      "Exit codes: 0 ok, 1 a gate failed, 2 bad input, 3 internal error.");
  app.add_option("--recipe", opt.recipe_file, "Recipe file (YAML)")->required();
  app.add_option("--out", opt.out_dir, "Output folder (default: out/<recipe name>)");
  app.add_option("--seed", opt.seed, "Seed overriding train.seed");
  app.add_option("--threads", opt.threads, "Threads for LibTorch (default: all cores)");
  app.add_flag("--json", opt.json, "Print report.json to stdout at the end");
  app.add_flag("-q,--quiet", opt.quiet, "Only warnings and errors on the console");
  app.add_flag("-v,--verbose", opt.verbose, "Debug output on the console");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ErrorKind::BadInput);
  }
  setup_logging(opt.quiet ? Verbosity::Quiet : opt.verbose ? Verbosity::Verbose : Verbosity::Normal);
  if (opt.threads > 0) torch::set_num_threads(opt.threads);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code_for(e);
  }
}
