// lib/pipeline/sweep.h without training: a sweep whose points all finished before reads their reports in
// plan order (mask x INT8 x sparsity), writes sweep.json/md/svg from them, and names the points that failed.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "pipeline/sweep.h"

using namespace sparrow;

namespace {

nlohmann::json report(double accuracy, double speedup) {
  return {{"compressed", {{"accuracy", accuracy}, {"sparsity", 0.5}}},
          {"engine", {{"accuracy", accuracy - 0.01}, {"speedup", speedup}}},
          {"export", {{"bytes", 1000}}},
          {"wall_seconds", 2.0}};
}

}  // namespace

TEST_CASE("run_sweep resumes finished points in plan order and names the failed ones", "[pipeline][sweep]") {
  const fs::path out = fs::temp_directory_path() / ("sparrow_sweep_lib_" + std::to_string(::getpid()));
  fs::remove_all(out);
  claim_sweep_folder(out, "--out");
  // The plan's order and folder names; the last point's report is broken.
  const std::vector<std::string> names = {"block4_s0.8_int8", "block4_s0.8_noqat", "2of4_s0.5_int8", "2of4_s0.5_noqat"};
  for (size_t i = 0; i < names.size(); ++i) {
    fs::create_directories(out / names[i]);
    write_file_atomic(out / names[i] / "report.json", i == 3 ? std::string("{") : report(0.8 + 0.01 * i, 2.0 + i).dump());
  }

  pipeline::SweepOptions options;
  options.job.recipe_file = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_sweep.yaml";
  options.job.out_dir = out.string();
  options.axes.masks = {recipe::MaskKind::parse("block4"), recipe::MaskKind::parse("2:4")};
  options.axes.sparsities = {0.8};
  options.axes.int8s = {true, false};
  const auto points = pipeline::run_sweep(options);

  REQUIRE(points.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(points[i].name == names[i]);
    CHECK(points[i].int8 == (i % 2 == 0));
    CHECK(points[i].done == (i != 3));
  }
  CHECK(points[0].mask == "block4");
  CHECK(points[2].mask == "2:4");
  CHECK(points[2].sparsity == 0.5);  // N:M runs at 1 - N/M whatever the sparsities say
  CHECK(points[1].trainer_accuracy.value() == Approx(0.81));
  CHECK(points[2].speedup == 4.0);
  CHECK_THAT(points[3].error, Catch::StartsWith((out / names[3] / "report.json").string() + ": not valid JSON: "));

  const auto written = nlohmann::json::parse(read_file(out / "sweep.json"));
  CHECK(written == pipeline::sweep_json(options.job.recipe_file, points));
  CHECK(read_file(out / "sweep.md") == pipeline::sweep_markdown(options.job.recipe_file, points));
  CHECK(fs::is_regular_file(out / "sweep.svg"));

  CHECK_THROWS_WITH(pipeline::check_sweep_points(points),
                    Catch::StartsWith("sweep: 1 of 4 points failed:\n  2of4_s0.5_noqat: " + (out / names[3] / "report.json").string()));
  CHECK_NOTHROW(pipeline::check_sweep_points({points[0], points[1]}));
  fs::remove_all(out);
}

TEST_CASE("run_sweep refuses a recipe it cannot sweep before anything is written", "[pipeline][sweep]") {
  const fs::path out = fs::temp_directory_path() / ("sparrow_sweep_lib_bad_" + std::to_string(::getpid()));
  fs::remove_all(out);
  pipeline::SweepOptions options;
  // The dense recipe has neither a pruning nor a quantization modifier.
  options.job.recipe_file = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_sweep_dense.yaml";
  options.job.out_dir = out.string();
  options.axes.masks = {recipe::MaskKind::parse("block4")};
  options.axes.sparsities = {0.8};
  options.axes.int8s = {true};
  CHECK_THROWS_AS(pipeline::run_sweep(options), BadInput);
  CHECK_THROWS_WITH(pipeline::run_sweep(options), Catch::Contains("the sweep needs a !GMPruningModifier") &&
                                                      Catch::Contains("--int8 on needs a !QuantizationModifier in the recipe"));
  CHECK(!fs::exists(out));
}
