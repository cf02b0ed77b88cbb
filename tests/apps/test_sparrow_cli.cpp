// `sparrow run` and `sparrow bench` on small exported models: predictions per line equal LibTorch's, a bad
// input line is exit 2 naming the line and writes nothing, bench --json has the documented keys.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "export/exporter.h"
#include "models/cnn.h"
#include "support/run_command.h"
#include "support/small_models.h"

using namespace sparrow;
using sparrow::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kSparrow = std::string(SPARROW_BINARY_DIR) + "/apps/sparrow/sparrow";

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::shared_ptr<models::Cnn> small_cnn() {
  testing::SmallCnn s;
  s.seed = 4;
  return testing::small_cnn(s);
}

std::string image_line(const torch::Tensor& image) {
  const auto c = image.contiguous();
  return nlohmann::json{{"image", std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())}}.dump();
}

std::vector<nlohmann::json> read_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("sparrow run: one prediction per line, equal to LibTorch's", "[cli][engine]") {
  const fs::path dir = scratch("run");
  auto model = small_cnn();
  exporter::ExportOptions options;
  options.labels = {"cat", "dog", "eel"};
  exporter::export_model(*model, dir / "m.sparrow", options);
  const auto images = torch::randn({5, 1, 8, 8});
  std::string input;
  for (std::int64_t i = 0; i < 5; ++i) input += image_line(images[i]) + (i == 2 ? "\n\n" : "\n");  // a blank line is skipped
  write_file_atomic(dir / "in.jsonl", input);
  const auto r = run_command(kSparrow + " run " + (dir / "m.sparrow").string() + " --input " + (dir / "in.jsonl").string() +
                             " --output " + (dir / "out.jsonl").string() + " --batch 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto lines = read_lines(dir / "out.jsonl");
  REQUIRE(lines.size() == 5);
  torch::NoGradGuard g;
  const auto expected = model->logits({images, {}, torch::zeros({5}, torch::kInt64)}).argmax(1);
  for (std::int64_t i = 0; i < 5; ++i) {
    const auto& l = lines[static_cast<std::size_t>(i)];
    CHECK(l["label_index"] == expected[i].item<std::int64_t>());
    CHECK(l["label"] == options.labels[static_cast<std::size_t>(expected[i].item<std::int64_t>())]);
    CHECK(l["line"] == i + 1 + (i > 2 ? 1 : 0));
    double sum = 0;
    for (const auto& [name, p] : l["probabilities"].items()) sum += p.get<double>();
    CHECK(sum == Approx(1.0).epsilon(1e-5));
  }
  fs::remove_all(dir);
}

TEST_CASE("sparrow run: a bad line is exit 2 naming it, and no output is written", "[cli][engine]") {
  const fs::path dir = scratch("bad");
  auto model = small_cnn();
  exporter::export_model(*model, dir / "m.sparrow", {});
  const std::string good = image_line(torch::randn({1, 8, 8}));
  const std::string file = (dir / "m.sparrow").string(), out = (dir / "out.jsonl").string();
  std::string sixty_three_ones;
  for (int i = 0; i < 63; ++i) sixty_three_ones += "1, ";
  for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
           {"{\"image\": [1, 2, 3]}", "has 3 values, the model takes 64"},
           {"not json", "not a JSON object"},
           {"{\"text\": \"hello\"}", "expected an array field \"image\""},
           {"{\"image\": [" + sixty_three_ones + "\"x\"]}", "not a finite number"}}) {
    write_file_atomic(dir / "in.jsonl", good + "\n" + bad + "\n" + good + "\n");
    const auto r = run_command(kSparrow + " run " + file + " --input " + (dir / "in.jsonl").string() + " --output " + out);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("in.jsonl:2") != std::string::npos);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
  const auto missing = run_command(kSparrow + " run " + (dir / "nope.sparrow").string() + " --input " + (dir / "in.jsonl").string());
  CHECK(missing.exit_code == 2);
  fs::remove_all(dir);
}

TEST_CASE("sparrow bench --json --compare reports the documented keys", "[cli][engine]") {
  const fs::path dir = scratch("bench");
  auto model = small_cnn();
  exporter::export_model(*model, dir / "m.sparrow", {});
  // In a subshell, so that run_command's 2>&1 cannot bring back the log (a busy machine gets a warning).
  const auto r = run_command("(" + kSparrow + " bench " + (dir / "m.sparrow").string() +
                             " --batch 4 --threads 1 --warmup 1 --iterations 3 --json --compare --profile 2>/dev/null)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  for (const char* key : {"items_per_second", "latency_ms", "isa", "threads", "batch", "seq", "baseline_items_per_second", "speedup", "profile",
                          "baseline", "baseline_latency_ms", "reliable", "measurement"})
    CHECK(j.contains(key));
  CHECK(j.contains("unreliable_reason") == !j["reliable"].get<bool>());
  // How the speed-up was measured (docs/benchmarks.md, "Measuring on a busy machine"): --iterations rounds.
  CHECK(j["measurement"]["rounds"] == 3);
  CHECK(j["measurement"]["baseline"].size() == 1);  // --threads 1: LibTorch at 1 thread only
  for (const char* key : {"method", "engine", "baseline_threads", "cpu_speedup", "load_average"}) CHECK(j["measurement"].contains(key));
  for (const char* key : {"p50", "p90", "p99"}) CHECK(j["latency_ms"].contains(key));
  CHECK(j["batch"] == 4);
  CHECK(j["items_per_second"].get<double>() > 0);
  fs::remove_all(dir);
}
