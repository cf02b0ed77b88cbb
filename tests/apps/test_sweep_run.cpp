// compress sweep end to end on a short Fashion-MNIST recipe: two points sharing one starting model, their
// table and plot, and a rerun that keeps the finished points.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

TEST_CASE("compress sweep: two points, sweep.json/md/svg, and a rerun that skips them", "[cli][sweep][slow]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_sweep_run_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string command = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress --threads 2 sweep --recipe " +
                              SPARROW_SOURCE_DIR + "/tests/data/recipes/tiny_sweep.yaml --sparsity 0.8 --mask 'block4,[4,4]' "
                              "--int8 on --out " + dir.string();
  const auto r = run_command(command);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);

  // The starting model of model.from is trained once, by the first point, and reused by the second.
  CHECK_THAT(r.output, Catch::Contains("training the starting model with"));
  CHECK(fs::is_regular_file(dir / "teacher" / "checkpoint" / "model.safetensors"));
  CHECK_THAT(read_file(dir / "4x4_s0.8_int8" / "log.txt"), Catch::Contains("reusing the model trained by"));

  const auto sweep = nlohmann::json::parse(read_file(dir / "sweep.json"));
  REQUIRE(sweep["points"].size() == 2u);
  const std::vector<std::string> names = {"block4_s0.8_int8", "4x4_s0.8_int8"}, masks = {"block4", "[4,4]"};
  for (size_t i = 0; i < 2; ++i) {
    const auto& p = sweep["points"][i];
    INFO(p.dump());
    CHECK(p["name"] == names[i]);
    CHECK(p["mask"] == masks[i]);
    CHECK(p["status"] == "done");
    CHECK(p["int8"] == true);
    // The figures are the point's own report's.
    const auto report = nlohmann::json::parse(read_file(dir / names[i] / "report.json"));
    CHECK(p["trainer_accuracy"] == report["compressed"]["accuracy"]);
    CHECK(p["engine_accuracy"] == report["engine"]["accuracy"]);
    CHECK(p["speedup"] == report["engine"]["speedup"]);
    CHECK(p["model_bytes"] == fs::file_size(dir / names[i] / "model.sparrow"));
    CHECK(p["measured_sparsity"].get<double>() == Approx(0.8).margin(1e-3));
    CHECK(report["compressed"]["quantized"] == true);
    for (const auto& layer : report["layers"])
      if (layer["name"] == "fc1.weight") CHECK(layer["mask"] == masks[i]);
    CHECK(p["trainer_accuracy"].get<double>() > 0.5);
  }
  const std::string md = read_file(dir / "sweep.md");
  CHECK_THAT(md, Catch::Contains("| mask | INT8 | 80 % |") && Catch::Contains("| block4 | on | ") &&
                     Catch::Contains("| [4,4] | on | "));
  const std::string svg = read_file(dir / "sweep.svg");
  CHECK_THAT(svg, Catch::StartsWith("<svg") && Catch::Contains("block4, INT8 (QAT)") && Catch::Contains("[4,4], INT8 (QAT)"));

  // A rerun runs nothing: the reports stay as they were.
  const auto mtime = fs::last_write_time(dir / names[0] / "report.json");
  const auto again = run_command(command);
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.output, Catch::Contains("block4_s0.8_int8: finished before, kept") &&
                               Catch::Contains("4x4_s0.8_int8: finished before, kept"));
  CHECK(fs::last_write_time(dir / names[0] / "report.json") == mtime);
  CHECK(nlohmann::json::parse(read_file(dir / "sweep.json")) == sweep);

  // A point whose outputs are gone is run again; the others are kept.
  fs::remove_all(dir / names[1]);
  const auto redo = run_command(command);
  REQUIRE(redo.exit_code == 0);
  CHECK_THAT(redo.output, Catch::Contains("4x4_s0.8_int8: running"));
  CHECK(nlohmann::json::parse(read_file(dir / "sweep.json"))["points"][1]["trainer_accuracy"] ==
        sweep["points"][1]["trainer_accuracy"]);
  fs::remove_all(dir);
}
