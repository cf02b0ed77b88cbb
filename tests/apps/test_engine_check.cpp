// The engine's part of a compress report (apps/compress/engine_check.cpp): accuracy through the engine equals
// the model's own, a speed-up is measured, and nothing is added without a model.sparrow.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "apps/compress/engine_check.h"
#include "export/exporter.h"
#include "models/cnn.h"
#include "support/small_models.h"

using namespace sparrow;
namespace fs = std::filesystem;

TEST_CASE("engine check: the report gets the engine's accuracy and its speed against dense LibTorch", "[cli][engine]") {
  testing::SmallCnn shape;
  shape.seed = 5;
  const auto cnn = testing::small_cnn(shape);
  models::Cnn& model = *cnn;
  data::Dataset test;
  test.inputs = torch::randn({40, 1, 8, 8});
  test.labels = torch::randint(0, 3, {40}, torch::kInt64);
  test.label_names = {"0", "1", "2"};
  const fs::path file = fs::temp_directory_path() / ("sparrow_engine_check_" + std::to_string(::getpid()) + ".sparrow");

  nlohmann::json report = {{"engine", nullptr}};
  apps::add_engine_check(report, file, test, model, nullptr, 1);
  CHECK(report["engine"].is_null());

  exporter::export_model(model, file, {});
  apps::add_engine_check(report, file, test, model, nullptr, 1);
  fs::remove(file);
  torch::NoGradGuard g;
  const double expected = (model.logits({test.inputs, {}, test.labels}).argmax(1) == test.labels).to(torch::kFloat64).mean().item<double>();
  REQUIRE(report["engine"].is_object());
  CHECK(report["engine"]["accuracy"].get<double>() == Approx(expected));
  CHECK(report["engine"]["speedup"].get<double>() > 0);
  CHECK(report["engine"]["baseline_items_per_second"].get<double>() > 0);
}
