// End to end on a small slice of the e-mail corpus: a tiny teacher recipe,
// a GMP recipe starting from it (teacher trained once, then reused), --model,
// and `compress eval` reproducing the run's accuracy.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/files.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;
using Catch::Contains;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress --threads 2";

constexpr const char* kData = R"(
data:
  dataset: spam_assassin
  train_limit: 300
  test_limit: 100
)";

constexpr const char* kTeacher = R"(
model:
  name: bert
  vocab_size: 600
  hidden_size: 32
  num_hidden_layers: 1
  num_attention_heads: 2
  intermediate_size: 64
  max_position_embeddings: 32
  max_seq_length: 32
train:
  epochs: 1
  batch_size: 32
  optimizer: adamw
  lr: 0.002
)";

constexpr const char* kStudent = R"(
model:
  name: bert
  from: teacher.yaml
train:
  epochs: 1
  batch_size: 32
  optimizer: adamw
  lr: 0.0005
pruning_modifiers:
  - !GMPruningModifier
    params: [__ALL_PRUNABLE__]
    init_sparsity: 0.05
    final_sparsity: 0.9
    start_epoch: 0.0
    end_epoch: 0.5
    update_frequency: 0.25
)";

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

}  // namespace

TEST_CASE("bert: teacher, GMP from it, cache, --model and eval", "[bert][e2e]") {
  const fs::path dir = fs::temp_directory_path() / "sparrow_test_bert_e2e";
  const fs::path out = dir / "out";
  // Catch runs this body once per section; the first run is shared by all of them.
  static const auto first = [&] {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_file_atomic(dir / "teacher.yaml", std::string(kTeacher) + kData);
    write_file_atomic(dir / "student.yaml", std::string(kStudent) + kData);
    return run_command(kCompress + " --recipe " + (dir / "student.yaml").string() + " --out " + out.string());
  }();
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.output, Contains("training the starting model"));
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt"}) {
    CHECK(fs::exists(out / "checkpoint" / f));
    CHECK(fs::exists(out / "teacher" / "checkpoint" / f));
  }
  const auto report = read_json(out / "report.json");
  CHECK(report["compressed"]["sparsity"].get<double>() == Approx(0.9).margin(0.005));
  CHECK(report["dense"]["accuracy"].is_number());
  CHECK(report["dataset"]["test_items"] == 100);
  CHECK(report["layers"].size() == 6);
  const auto teacher_report = read_json(out / "teacher" / "report.json");
  CHECK(teacher_report["compressed"]["sparsity"] == 0.0);

  SECTION("a second run reuses the teacher") {
    const auto again = run_command(kCompress + " --recipe " + (dir / "student.yaml").string() + " --out " + out.string());
    INFO(again.output);
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.output, Contains("reusing the model trained by"));
    CHECK(read_json(out / "teacher" / "report.json") == teacher_report);
  }
  SECTION("eval reproduces the run's accuracy and writes predictions") {
    const fs::path preds = dir / "preds.jsonl";
    const auto eval = run_command(kCompress + " eval --json --model " + (out / "checkpoint").string() +
                                  " --data spam_assassin --limit 100 --predictions " + preds.string());
    INFO(eval.output);
    REQUIRE(eval.exit_code == 0);
    const auto json = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
    CHECK(json["items"] == 100);
    CHECK(json["accuracy"].get<double>() == Approx(report["compressed"]["accuracy"].get<double>()));
    const std::string lines = read_file(preds);
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 100);
    const auto first_line = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
    CHECK(first_line["logits"].size() == 2);
    CHECK(first_line.contains("predicted"));
  }
  SECTION("--model starts from a given folder instead of model.from") {
    const auto run = run_command(kCompress + " --recipe " + (dir / "student.yaml").string() + " --model " +
                                 (out / "teacher" / "checkpoint").string() + " --out " + (dir / "out2").string());
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    CHECK_FALSE(fs::exists(dir / "out2" / "teacher"));
    CHECK_THAT(run.output, Contains("model from"));
  }
  SECTION("a malformed data file is bad input naming file and line") {
    write_file_atomic(dir / "bad.jsonl", "{\"text\": \"hi\", \"label\": \"ham\"}\n{\"text\": oops}\n");
    const auto eval = run_command(kCompress + " eval --model " + (out / "checkpoint").string() + " --data " +
                                  (dir / "bad.jsonl").string());
    CHECK(eval.exit_code == 2);
    CHECK_THAT(eval.output, Contains("bad.jsonl:2"));
  }
  SECTION("a missing model folder is bad input") {
    const auto eval = run_command(kCompress + " eval --model " + (dir / "nope").string() + " --data spam_assassin");
    CHECK(eval.exit_code == 2);
  }
}
