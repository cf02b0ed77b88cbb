#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "compress/masks/magnitude_mask.h"
#include "core/files.h"
#include "format/reader.h"
#include "models/checkpoint.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Writes `text` as a recipe and runs compress on it with --out inside `dir`.
testing::CommandResult compress_recipe(const fs::path& dir, const std::string& text) {
  write_file_atomic(dir / "recipe.yaml", text);
  return run_command(kCompress + " --recipe " + (dir / "recipe.yaml").string() + " --out " + (dir / "out").string());
}

bool nothing_written(const fs::path& dir) { return !fs::exists(dir / "out") && !fs::exists(dir / "out.partial"); }

}  // namespace

TEST_CASE("compress --help and --version", "[cli]") {
  const auto help = run_command(kCompress + " --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("--recipe") && Catch::Contains("Examples:"));
  const auto version = run_command(kCompress + " --version");
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.output, Catch::Contains(SPARROW_VERSION));
}

TEST_CASE("compress subcommands: each --help has its own examples, its flags and their defaults", "[cli]") {
  const auto help = [](const std::string& sub) {
    const auto r = run_command(kCompress + " " + sub + " --help");
    CHECK(r.exit_code == 0);
    // The top-level examples stay at the top level.
    CHECK_THAT(r.output, !Catch::Contains("compress --recipe recipes/bert90.yaml"));
    CHECK_THAT(r.output, Catch::Contains("Examples:\n  compress " + sub + " "));
    return r.output;
  };
  CHECK_THAT(help("check"), Catch::Contains("--json") && Catch::Contains("--model") && Catch::Contains("--set path"));
  CHECK_THAT(help("schedule"), Catch::Contains("--step FLOAT=1") && Catch::Contains("--json") &&
                                   Catch::Contains("At most 100001 rows; --step is in [0.001, 100000] epochs"));
  CHECK_THAT(help("export"), Catch::Contains("--calibration-batches INT:POSITIVE=8") &&
                                 Catch::Contains("--batch-size INT:POSITIVE=64") &&
                                 Catch::Contains("--min-sparse-fraction FLOAT:FLOAT in [0 - 1]=0.5"));
  CHECK_THAT(help("eval"), Catch::Contains("--batch-size INT:POSITIVE=64") && Catch::Contains("\"label\""));
  // sweep checks its required flags itself (to report every error at once), and shows them as required.
  CHECK_THAT(help("sweep"), Catch::Contains("Required (all errors are reported together):\n  --recipe"));
  CHECK_THAT(help("report"), Catch::Contains("--out TEXT REQUIRED") && Catch::Contains("report.json"));
  // --limit's default depends on the model (items or tokens): its help says both.
  CHECK_THAT(help("analyze"), Catch::Contains("--sparsities TEXT=0.5,0.7,0.8,0.9,0.95") && Catch::Contains("--mask TEXT=block4") &&
                                  Catch::Contains("(default 512)") && Catch::Contains("(default 4096)") &&
                                  Catch::Contains("--write-recipe") && Catch::Contains("--target-speedup"));
}

TEST_CASE("compress on bad input exits 2 naming the file and line, and writes nothing", "[cli]") {
  const fs::path dir = scratch_dir("bad");
  const std::string file = (dir / "recipe.yaml").string();

  SECTION("missing recipe") {
    const auto r = run_command(kCompress + " --recipe " + (dir / "absent.yaml").string() + " --out " + (dir / "out").string());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("absent.yaml") && Catch::Contains("not found"));
  }
  SECTION("unknown flag") {
    const auto r = run_command(kCompress + " --recipy x.yaml");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--recipy"));
  }
  SECTION("bad YAML") {
    const auto r = compress_recipe(dir, "model:\n  name: cnn\ntrain: [epochs: 1\n");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(file + ":4:1") && Catch::Contains("invalid YAML"));
  }
  SECTION("unknown tag") {
    const auto r = compress_recipe(dir, "model: {name: cnn}\nmodifiers:\n  - !GMPrunningModifier\n    final_sparsity: 0.9\n");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(file + ":3:5") && Catch::Contains("!GMPrunningModifier") &&
                             Catch::Contains("did you mean '!GMPruningModifier'"));
  }
  SECTION("unknown field") {
    const auto r = compress_recipe(dir, "model: {name: cnn}\ntrain:\n  epochs: 1\n  batch_sise: 8\n");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(file + ":4:3") && Catch::Contains("did you mean 'batch_size'"));
  }
  SECTION("params matching nothing") {
    const auto r = compress_recipe(dir,
                                   "model: {name: cnn}\ndata: {train_limit: 10, test_limit: 10}\nmodifiers:\n"
                                   "  - !GMPruningModifier\n    params: [fc7.weight]\n    final_sparsity: 0.5\n"
                                   "    start_epoch: 0\n    end_epoch: 1\n");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("fc7.weight") && Catch::Contains("conv2.weight"));
  }
  SECTION("unreadable data") {
    const auto r = compress_recipe(dir, "model: {name: cnn}\ndata: {path: " + dir.string() + "}\n");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("train-images-idx3-ubyte.gz"));
  }
  CHECK(nothing_written(dir));
  fs::remove_all(dir);
}

TEST_CASE("compress trains, prunes to the exact sparsity and writes every output", "[cli][e2e]") {
  const fs::path dir = scratch_dir("e2e");
  const fs::path out = dir / "run";
  const auto r = run_command(kCompress + " --threads 2 --recipe " + SPARROW_SOURCE_DIR +
                             "/tests/data/recipes/tiny_gmp.yaml --out " + out.string() + " --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"report.json", "report.html", "recipe.resolved.yaml", "log.txt", "checkpoint/model.safetensors",
                        "checkpoint/config.json"})
    CHECK(fs::exists(out / f));
  // report.html draws the mask of the largest pruned layer (fc1, 64 x 784) from the checkpoint; `compress report`
  // writes the same page again, and the folder stays one a later run may replace.
  const std::string page = read_file(out / "report.html");
  CHECK_THAT(page, Catch::Contains(">Mask of fc1.weight (64 × 784, unstructured)</text>"));
  fs::remove(out / "report.html");
  const auto regenerated = run_command(kCompress + " report --out " + out.string());
  CHECK(regenerated.exit_code == 0);
  CHECK(read_file(out / "report.html") == page);

  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["report_version"] == 1);
  CHECK(report["dataset"]["train_items"] == 3000);
  CHECK(report["dataset"]["test_items"] == 1000);
  CHECK(report["epochs"].size() == 4u);
  CHECK(report["recipe_sha256"].get<std::string>().size() == 64u);
  const double dense = report["dense"]["accuracy"];
  const double compressed = report["compressed"]["accuracy"];
  CHECK(dense > 0.6);
  CHECK(compressed > 0.6);
  CHECK(report["compressed"]["sparsity"].get<double>() == Approx(0.9).margin(1e-3));

  // Zeros counted in the saved checkpoint, not in the report.
  auto model = models::load_checkpoint(out / "checkpoint");
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "conv2.weight" || p.key() == "fc1.weight")
      CHECK(compress::zero_fraction(p.value()) == Approx(0.9).margin(0.5 / p.value().numel() + 1e-9));
    if (p.key() == "fc2.weight") CHECK(compress::zero_fraction(p.value()) < 0.01);
  }
  for (const auto& layer : report["layers"])
    if (layer["name"] == "fc1.weight") CHECK(layer["mask"] == "unstructured");

  // The run ends with the engine's file, readable and described in the report.
  const format::File sparrow_file = format::File::open(out / "model.sparrow");
  CHECK(report["export"]["file"] == (out / "model.sparrow").string());
  CHECK(report["export"]["bytes"] == fs::file_size(out / "model.sparrow"));
  CHECK(sparrow_file.metadata()["sparrow.model"] == "cnn");
  CHECK(sparrow_file.metadata()["sparrow.quantization"] == "calibration");
  CHECK(sparrow_file.metadata()["sparrow.trainer_accuracy"] == report["compressed"]["accuracy"]);
  CHECK(sparrow_file.metadata()["sparrow.recipe_sha256"] == report["recipe_sha256"]);
  CHECK(report["export"]["encoder_linear"].is_null());  // a CNN has no encoder
  CHECK(report["export"]["layers"]["layers"] == 4);
  CHECK(report["export"]["layers"]["ratio"].get<double>() > 1.0);

  // A rerun from the resolved recipe reproduces the report's accuracies exactly.
  const auto again = run_command(kCompress + " --threads 2 --recipe " + (out / "recipe.resolved.yaml").string() +
                                 " --out " + (dir / "again").string());
  REQUIRE(again.exit_code == 0);
  const auto report2 = nlohmann::json::parse(read_file(dir / "again" / "report.json"));
  CHECK(report2["compressed"]["accuracy"] == report["compressed"]["accuracy"]);
  fs::remove_all(dir);
}
