// Raw pixels end to end: a real Fashion-MNIST run of the smallest INT8 CNN recipe (recipes/
// fashion_cnn90_int8.yaml on 1000 training items) stores the training set's pixel normalization in
// model.sparrow, so `sparrow run` on the IDX file's raw 0..255 pixels predicts what the trainer's own
// evaluation (`compress eval`, quantization on) predicts; and `compress export` of the run's QAT checkpoint
// without --data stores the same normalization, taken from the run's recipe.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "core/files.h"
#include "data/fashion_mnist.h"
#include "data/idx_file.h"
#include "support/run_command.h"
#include "support/skip.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";
const std::string kSparrow = std::string(SPARROW_BINARY_DIR) + "/apps/sparrow/sparrow";
constexpr int64_t kTestItems = 200;

// The graph metadata `sparrow inspect --json` shows (its log lines go elsewhere).
nlohmann::json metadata_of(const fs::path& file) {
  const auto r = run_command("(" + kSparrow + " inspect --json " + file.string() + " 2>/dev/null)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.output)["metadata"];
}

std::vector<nlohmann::json> jsonl(const fs::path& file) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("raw pixels: sparrow run on 0..255 predicts what the trainer's evaluation does", "[cli][export][slow]") {
  const fs::path images_dir = data::default_fashion_mnist_dir();
  if (!fs::exists(images_dir / "t10k-images-idx3-ubyte.gz"))
    return sparrow::testing::skip("Fashion-MNIST is not installed in " + images_dir.string());
  const fs::path dir = fs::temp_directory_path() / ("sparrow_image_input_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "run";
  const auto run = run_command(kCompress + " -q --threads 2 --recipe " + SPARROW_SOURCE_DIR +
                               "/recipes/fashion_cnn90_int8.yaml --set data.train_limit=1000 --set data.test_limit=" +
                               std::to_string(kTestItems) + " --out " + out.string());
  INFO(run.output);
  REQUIRE(run.exit_code == 0);

  // The stored normalization is the training images' own mean and standard deviation (on [0, 1]), computed
  // here from the IDX file.
  const auto meta = metadata_of(out / "model.sparrow");
  INFO(meta.dump());
  REQUIRE(meta.contains("sparrow.input_normalization"));
  const auto& norm = meta["sparrow.input_normalization"];
  CHECK(norm["pixel_range"] == 255.0);
  const auto train = data::read_idx(images_dir / "train-images-idx3-ubyte.gz");
  double sum = 0, squares = 0;
  for (const auto v : train.values) {
    sum += v / 255.0;
    squares += (v / 255.0) * (v / 255.0);
  }
  const double n = static_cast<double>(train.values.size()), mean = sum / n;
  CHECK(norm["mean"][0].get<double>() == Approx(mean).margin(5e-4));
  CHECK(norm["std"][0].get<double>() == Approx(std::sqrt(squares / n - mean * mean)).margin(5e-4));
  CHECK(meta["sparrow.labels"][0] == "T-shirt/top");

  // The trainer's predictions, quantization on as the engine computes.
  const fs::path trainer_predictions = dir / "trainer.jsonl";
  const auto eval = run_command(kCompress + " -q --threads 2 eval --model " + (out / "checkpoint").string() +
                                " --data fashion_mnist --limit " + std::to_string(kTestItems) + " --predictions " +
                                trainer_predictions.string());
  INFO(eval.output);
  REQUIRE(eval.exit_code == 0);
  const auto trainer = jsonl(trainer_predictions);
  REQUIRE(trainer.size() == static_cast<size_t>(kTestItems));

  // The test images as stored, 0..255, one item per line.
  const auto test = data::read_idx(images_dir / "t10k-images-idx3-ubyte.gz", kTestItems);
  const size_t pixels = static_cast<size_t>(test.dims[1] * test.dims[2]);
  std::string input;
  for (int64_t i = 0; i < kTestItems; ++i) {
    const auto first = test.values.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * pixels);
    input += nlohmann::json{{"image", std::vector<int>(first, first + static_cast<std::ptrdiff_t>(pixels))}}.dump() + "\n";
  }
  write_file_atomic(dir / "images.jsonl", input);

  const auto engine_predictions = [&](const fs::path& model) {
    const fs::path output = dir / (model.stem().string() + ".predictions.jsonl");
    const auto r = run_command(kSparrow + " run " + model.string() + " --threads 2 --batch 32 --input " +
                               (dir / "images.jsonl").string() + " --output " + output.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return jsonl(output);
  };
  const auto engine = engine_predictions(out / "model.sparrow");
  REQUIRE(engine.size() == trainer.size());
  // The engine's INT8 arithmetic is the trainer's fake quantization, and the pixels are normalized by the same
  // function on both sides: every prediction agrees, but for a near tie of the trainer's two logits.
  int agree = 0;
  for (size_t i = 0; i < trainer.size(); ++i) {
    const auto e = engine[i]["label_index"].get<int64_t>(), t = trainer[i]["predicted"].get<int64_t>();
    if (e == t) {
      ++agree;
      continue;
    }
    const auto& logits = trainer[i]["logits"];
    INFO("item " << i << ": engine " << e << ", trainer " << t << ", logits " << logits.dump());
    CHECK(std::abs(logits[static_cast<size_t>(e)].get<double>() - logits[static_cast<size_t>(t)].get<double>()) < 1e-3);
  }
  CHECK(agree >= kTestItems - 1);

  // compress export of the QAT checkpoint without --data: the normalization and class names come from the
  // run's recipe.resolved.yaml, and the file predicts as the run's own.
  const fs::path exported = dir / "exported.sparrow";
  const auto ex = run_command(kCompress + " export --checkpoint " + (out / "checkpoint").string() + " --out " + exported.string());
  INFO(ex.output);
  REQUIRE(ex.exit_code == 0);
  const auto exported_meta = metadata_of(exported);
  CHECK(exported_meta["sparrow.input_normalization"] == norm);
  CHECK(exported_meta["sparrow.labels"] == meta["sparrow.labels"]);
  CHECK(exported_meta["sparrow.quantization"] == "quantization.json");
  const auto again = engine_predictions(exported);
  for (size_t i = 0; i < engine.size(); ++i) CHECK(again[i]["label_index"] == engine[i]["label_index"]);

  // A checkpoint away from its run folder names no dataset: the file stores none (the engine then takes
  // normalized values).
  fs::create_directories(dir / "alone");
  fs::copy(out / "checkpoint", dir / "alone" / "checkpoint", fs::copy_options::recursive);
  const fs::path alone = dir / "alone.sparrow";
  const auto ex2 = run_command(kCompress + " export --checkpoint " + (dir / "alone" / "checkpoint").string() + " --out " +
                               alone.string());
  INFO(ex2.output);
  REQUIRE(ex2.exit_code == 0);
  CHECK(!metadata_of(alone).contains("sparrow.input_normalization"));
  fs::remove_all(dir);
}
