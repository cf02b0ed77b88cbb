// compress on a one-shot recipe (train.epochs: 0): pruning at once, calibration without training, the
// engine check, and nothing else changed.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "compress/masks/magnitude_mask.h"
#include "core/files.h"
#include "format/reader.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

TEST_CASE("compress one-shot: block4 pruning at once, calibrated ranges, every other weight untouched", "[cli][one_shot]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string recipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_one_shot.yaml";
  const auto r = run_command(std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress --threads 2 --recipe " + recipe +
                             " --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);

  const auto report = nlohmann::json::parse(read_file(dir / "report.json"));
  CHECK(report["epochs"].empty());
  CHECK(report["compressed"]["quantized"] == true);
  CHECK(report["compressed"]["sparsity"].get<double>() == Approx(0.8).margin(1e-3));
  CHECK(report["dense"]["accuracy"].is_number());
  CHECK(report["engine"]["accuracy"].is_number());
  CHECK(report["engine"]["speedup"].get<double>() > 0);

  // The recipe's seed builds the same initial model here: the saved weights are it, with fc1's pruned blocks zeroed.
  torch::manual_seed(0);
  const auto initial = models::build_model({{"name", "cnn"}, {"conv1_channels", 8}, {"conv2_channels", 16}, {"hidden", 64}}, "test");
  const auto saved = models::load_checkpoint(dir / "checkpoint");
  const auto before = initial->named_parameters();
  for (const auto& p : saved->named_parameters()) {
    INFO(p.key());
    const torch::Tensor w0 = before[p.key()];
    if (p.key() == "fc1.weight") {
      const auto kept = p.value() != 0;
      CHECK(torch::equal(p.value().masked_select(kept), w0.masked_select(kept)));
      // Whole 1x4 blocks are zero, 80 % of them.
      const auto blocks = (p.value().view({p.value().size(0), -1, 4}) == 0).all(2);
      CHECK(blocks.to(torch::kFloat32).mean().item<double>() == Approx(0.8).margin(1.0 / static_cast<double>(blocks.numel())));
      CHECK(compress::zero_fraction(p.value()) == Approx(0.8).margin(1e-3));
    } else {
      CHECK(torch::equal(p.value(), w0));
    }
  }
  const auto initial_buffers = initial->named_buffers();
  for (const auto& b : saved->named_buffers()) {
    INFO(b.key());
    CHECK(torch::equal(b.value(), initial_buffers[b.key()]));
  }

  // Every layer's activation range was observed on the calibration batches (not the unset [0, 0]).
  const auto ranges = nlohmann::json::parse(read_file(dir / "checkpoint" / "quantization.json"));
  CHECK(ranges.size() == 4u);
  for (const auto& [layer, q] : ranges.items()) {
    INFO(layer);
    CHECK(q["hi"].get<double>() > q["lo"].get<double>());
    CHECK(q["hi"].get<double>() > 0);
  }
  // The first conv sees the normalized images ((pixel - 0.2860) / 0.3530): every batch holds black and white
  // pixels, so its range is exactly theirs.
  CHECK(ranges["conv1"]["lo"].get<double>() == Approx(-0.2860 / 0.3530).epsilon(1e-5));
  CHECK(ranges["conv1"]["hi"].get<double>() == Approx((1 - 0.2860) / 0.3530).epsilon(1e-5));

  const format::File file = format::File::open(dir / "model.sparrow");
  CHECK_THAT(file.metadata()["sparrow.weights"].get<std::string>(), Catch::StartsWith("untrained (random initialisation, seed 0)"));
  CHECK(file.metadata()["sparrow.quantization"] == "quantization.json");
  fs::remove_all(dir);
}

TEST_CASE("compress one-shot refuses what it cannot run, naming each modifier", "[cli][one_shot]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path recipe = dir / "r.yaml";
  write_file_atomic(recipe,
                    "model: {name: cnn, conv1_channels: 8, conv2_channels: 16, hidden: 64}\n"
                    "data: {train_limit: 100, test_limit: 100}\n"
                    "train: {epochs: 0}\n"
                    "modifiers:\n"
                    "  - !GMPruningModifier {params: [fc1.weight], final_sparsity: 0.5, start_epoch: 0, end_epoch: 1}\n"
                    "  - !QuantizationModifier {start_epoch: 0}\n"
                    "  - !SetLearningRateModifier {start_epoch: 0, learning_rate: 0.1}\n");
  const auto r = run_command(std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress --recipe " + recipe.string() +
                             " --out " + (dir / "out").string());
  CHECK(r.exit_code == 2);
  const std::string f = recipe.string();
  CHECK_THAT(r.output,
             Catch::Contains(f + ": 3 errors:\n"
                             "  " + f + ":5:5: !GMPruningModifier in a one-shot recipe (train.epochs: 0) needs start_epoch: 0 "
                             "and end_epoch: 0 (it prunes to final_sparsity at once)\n"
                             "  " + f + ":6:5: !QuantizationModifier in a one-shot recipe (train.epochs: 0) needs "
                             "num_calibration_steps > 0: the training batches its activation ranges are calibrated on\n"
                             "  " + f + ":7:5: !SetLearningRateModifier in a one-shot recipe (train.epochs: 0) cannot act: "
                             "one-shot runs magnitude, SparseGPT, Wanda pruning and quantization modifiers only"));
  CHECK(!fs::exists(dir / "out"));
  fs::remove_all(dir);
}

TEST_CASE("compress one-shot of a ResNet on random images: blocks along input channels, and the engine agrees",
          "[cli][one_shot][resnet]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_resnet_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string recipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_resnet_random.yaml";
  const auto r = run_command(std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress --threads 2 --recipe " + recipe +
                             " --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(dir / "report.json"));
  CHECK(report["dataset"]["name"] == "random_images");
  CHECK(report["compressed"]["quantized"] == true);
  // The engine and the trainer's quantized evaluation agree on the 8 test images.
  CHECK(report["engine"]["accuracy"].get<double>() == report["compressed"]["accuracy"].get<double>());

  const auto saved = models::load_checkpoint(dir / "checkpoint");
  const torch::Tensor w = saved->named_parameters()["layer1.0.conv2.weight"];  // [8, 8, 3, 3]
  // Whole blocks of 4 input channels at one kernel position are zero, 80 % of them.
  const auto blocks = (w.permute({0, 2, 3, 1}).reshape({8, 3, 3, 2, 4}) == 0).all(4);
  CHECK(blocks.to(torch::kFloat32).mean().item<double>() == Approx(0.8).margin(0.02));
  CHECK(compress::zero_fraction(w) == Approx(0.8).margin(0.02));

  const format::File file = format::File::open(dir / "model.sparrow");
  CHECK_THAT(file.metadata()["sparrow.weights"].get<std::string>(), Catch::StartsWith("untrained (random initialisation, seed 0)"));
  for (const auto& op : file.graph()["ops"])
    if (op["name"] == "layer1.0.conv2") CHECK(op["attrs"]["patch_order"] == "hwc");
  fs::remove_all(dir);
}
