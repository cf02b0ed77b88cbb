// `sparrow run`, `bench` and `inspect` on small exported models: predictions per line equal LibTorch's, a
// bad input line is exit 2 naming the line and writes nothing, an input over 1 GiB is refused, bench --json
// has the documented keys and the item shape that applies, --threads and SPARROW_THREADS set the threads
// (the flag wins), inspect shows weight and 1x4-block sparsity apart, and each subcommand's --help has its
// own examples and defaults. Bad invocations are in bad_invocations/sparrow.yaml.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <numeric>
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
           {"not json", "not valid JSON at byte 2"},
           {"{\"image\": [NaN]}", "NaN is not JSON"},
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

TEST_CASE("sparrow run: an input larger than 1 GiB is refused before it is read", "[cli][engine]") {
  const fs::path dir = scratch("big");
  exporter::export_model(*small_cnn(), dir / "m.sparrow", {});
  write_file_atomic(dir / "in.jsonl", "");
  fs::resize_file(dir / "in.jsonl", (std::uintmax_t{1} << 30) + 1);  // a sparse file: no disk space used
  const auto r = run_command(kSparrow + " run " + (dir / "m.sparrow").string() + " --input " + (dir / "in.jsonl").string());
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("in.jsonl: 1073741825 bytes, more than the 1073741824 bytes"));
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
  for (const char* key : {"items_per_second", "latency_ms", "isa", "threads", "batch", "image_shape", "baseline_items_per_second",
                          "speedup", "profile", "baseline", "baseline_latency_ms", "reliable", "measurement", "speedup_vs_int8",
                          "int8_baseline_items_per_second", "int8_baseline", "int8_baseline_latency_ms"})
    CHECK(j.contains(key));
  CHECK_THAT(j["baseline"].get<std::string>(), Catch::StartsWith("LibTorch ") && Catch::Contains("dense FP32"));
  CHECK_THAT(j["int8_baseline"].get<std::string>(), Catch::StartsWith("LibTorch ") && Catch::Contains("dynamic INT8 on "));
  CHECK_FALSE(j.contains("seq"));  // an image model has none
  CHECK(j["image_shape"] == nlohmann::json::array({1, 8, 8}));
  CHECK(j.contains("unreliable_reason") == !j["reliable"].get<bool>());
  // How the speed-up was measured (docs/benchmarks.md, "Measuring on a busy machine"): --iterations rounds.
  CHECK(j["measurement"]["rounds"] == 3);
  CHECK(j["measurement"]["baseline"].size() == 1);  // --threads 1: LibTorch at 1 thread only
  CHECK(j["measurement"]["int8_baseline"].size() == 1);
  for (const char* key : {"method", "engine", "baseline_threads", "cpu_speedup", "load_average", "int8_baseline_threads", "int8_cpu_speedup"})
    CHECK(j["measurement"].contains(key));
  for (const char* key : {"p50", "p90", "p99"}) CHECK(j["latency_ms"].contains(key));
  CHECK(j["batch"] == 4);
  CHECK(j["items_per_second"].get<double>() > 0);
  fs::remove_all(dir);
}

TEST_CASE("sparrow bench --compare --fp32-baseline-only times LibTorch FP32 alone; text output names both speed-ups", "[cli][engine]") {
  const fs::path dir = scratch("bench_fp32_only");
  exporter::export_model(*small_cnn(), dir / "m.sparrow", {});
  const std::string bench = kSparrow + " bench " + (dir / "m.sparrow").string() + " --warmup 0 --iterations 1 --compare";
  const auto fp32_only = run_command("(" + bench + " --fp32-baseline-only --json 2>/dev/null)");
  INFO(fp32_only.output);
  REQUIRE(fp32_only.exit_code == 0);
  const auto j = nlohmann::json::parse(fp32_only.output);
  CHECK(j.contains("speedup"));
  for (const char* key : {"speedup_vs_int8", "int8_baseline", "int8_baseline_items_per_second", "int8_baseline_latency_ms"}) CHECK_FALSE(j.contains(key));
  CHECK_FALSE(j["measurement"].contains("int8_baseline"));

  const auto text = run_command(bench);
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("LibTorch FP32:") && Catch::Contains("LibTorch INT8:") &&
                              Catch::Contains("speed-up over LibTorch FP32: ") && Catch::Contains("speed-up over LibTorch INT8: "));
  const auto alone = run_command(kSparrow + " bench " + (dir / "m.sparrow").string() + " --fp32-baseline-only");
  CHECK(alone.exit_code == 2);  // it only qualifies --compare
  CHECK_THAT(alone.output, Catch::Contains("--fp32-baseline-only requires --compare"));
  fs::remove_all(dir);
}

TEST_CASE("sparrow bench: the item shape that applies, and the threads of --threads or SPARROW_THREADS", "[cli][engine]") {
  const fs::path dir = scratch("bench_shape");
  exporter::export_model(*small_cnn(), dir / "cnn.sparrow", {});
  exporter::export_model(*testing::tiny_bert({}), dir / "bert.sparrow", {});
  const std::string cnn = (dir / "cnn.sparrow").string(), bert = (dir / "bert.sparrow").string();
  const std::string quick = " --warmup 0 --iterations 1";

  const auto image = run_command(kSparrow + " bench " + cnn + quick);
  INFO(image.output);
  CHECK(image.exit_code == 0);
  CHECK_THAT(image.output, Catch::Contains("batch 1, 1x8x8 images, 1 thread(s)"));
  CHECK_THAT(image.output, !Catch::Contains("seq"));

  const auto text = run_command(kSparrow + " bench " + bert + " --seq 6 --json" + quick + " 2>/dev/null");
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  const auto j = nlohmann::json::parse(text.output);
  CHECK(j["seq"] == 6);
  CHECK_FALSE(j.contains("image_shape"));
  // The load around the timed runs (faked here: ctest sets SPARROW_TEST=1).
  {
    std::ofstream(dir / "loadavg") << "1.25 0.50 0.25 1/100 42\n";
    const auto loaded = run_command("SPARROW_TEST_LOADAVG=" + (dir / "loadavg").string() + " " + kSparrow + " bench " + cnn +
                                    " --json" + quick + " 2>/dev/null");
    REQUIRE(loaded.exit_code == 0);
    const auto l = nlohmann::json::parse(loaded.output)["load_average"];
    CHECK(l["before"] == 1.25);
    CHECK(l["after"] == 1.25);
    CHECK(l["cpus"].get<int>() >= 1);
  }

  const auto threads = [&](const std::string& prefix, const std::string& flags) {
    const auto r = run_command(prefix + kSparrow + " bench " + cnn + flags + " --json" + quick + " 2>/dev/null");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.output)["threads"].get<int>();
  };
  CHECK(threads("", "") == 1);
  CHECK(threads("SPARROW_THREADS=2 ", "") == 2);
  CHECK(threads("SPARROW_THREADS=2 ", " --threads 3") == 3);
  CHECK(threads("SPARROW_THREADS=0 ", " --threads 1") == 1);  // the flag wins: the variable is not read
  fs::remove_all(dir);
}

TEST_CASE("sparrow inspect: weight sparsity as report.json gives it, and the 1x4-block figure labelled apart", "[cli][engine]") {
  const fs::path dir = scratch("inspect");
  auto model = small_cnn();
  {
    // fc1 keeps inputs 0, 8, 16 and 24 of each row: 87.5 % of its weights are zero but only half of its 1x4
    // blocks (the blocks starting at 4, 12, 20 and 28).
    torch::NoGradGuard g;
    torch::Tensor w = model->named_parameters()["fc1.weight"];
    REQUIRE(w.size(1) == 32);
    const auto keep = torch::zeros({32});
    for (int i = 0; i < 32; i += 8) keep[i] = 1.0;
    w.mul_(keep);
  }
  exporter::export_model(*model, dir / "m.sparrow", {});
  const std::string file = (dir / "m.sparrow").string();
  const auto json = run_command(kSparrow + " inspect --json " + file + " 2>/dev/null");
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.output);
  bool found = false;
  for (const auto& op : j["ops"]) {
    if (op["name"] != "fc1") continue;
    found = true;
    CHECK(op["layer"]["weight_sparsity"].get<double>() == Approx(0.875));
    CHECK(op["layer"]["block_sparsity"].get<double>() == Approx(0.5));
  }
  CHECK(found);
  const auto text = run_command(kSparrow + " inspect " + file);
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("sparsity  zero 1x4") && Catch::Contains("87.5 %    50.0 %") &&
                              Catch::Contains("sparsity: zero weights (report.json's figure); zero 1x4: all-zero blocks"));
  fs::remove_all(dir);
}

TEST_CASE("sparrow inspect: a sparse INT8 layer's stored tiles per row, min, median, max and mean", "[cli][engine]") {
  const fs::path dir = scratch("inspect_rows");
  auto model = small_cnn();
  std::vector<int> kept(model->named_parameters()["fc1.weight"].size(0));
  {
    // Row r of fc1 keeps the first r % 3 + 1 of its 1x4 blocks: 1, 2, 3, 1, 2, 3, ... tiles per row.
    torch::NoGradGuard g;
    torch::Tensor w = model->named_parameters()["fc1.weight"];
    for (std::int64_t r = 0; r < w.size(0); ++r) {
      kept[static_cast<std::size_t>(r)] = static_cast<int>(r % 3 + 1);
      w[r].slice(0, 4 * (r % 3 + 1)).zero_();
      w[r].slice(0, 0, 4 * (r % 3 + 1)).fill_(0.5);
    }
  }
  exporter::ExportOptions options;
  options.activations["fc1"] = {0.05f, 0, -1.0f, 1.0f};  // an INT8 input: fc1 is stored sparse_int8
  exporter::export_model(*model, dir / "m.sparrow", options);
  const auto json = run_command(kSparrow + " inspect --json " + (dir / "m.sparrow").string() + " 2>/dev/null");
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.output);
  std::sort(kept.begin(), kept.end());
  const std::size_t n = kept.size();
  const double median = n % 2 ? kept[n / 2] : 0.5 * (kept[n / 2 - 1] + kept[n / 2]);
  bool found = false;
  for (const auto& op : j["ops"]) {
    if (op["name"] != "fc1") continue;
    found = true;
    REQUIRE(op["layer"]["format"] == "sparse_int8");
    const auto& t = op["layer"]["tiles_per_row"];
    CHECK(t["min"] == 1);
    CHECK(t["max"] == 3);
    CHECK(t["median"].get<double>() == median);
    CHECK(t["mean"].get<double>() == Approx(std::accumulate(kept.begin(), kept.end(), 0.0) / static_cast<double>(n)));
  }
  CHECK(found);
  const auto text = run_command(kSparrow + " inspect " + (dir / "m.sparrow").string());
  CHECK_THAT(text.output, Catch::Contains("tiles/row") && Catch::Contains(fmt::format("1/{}/3", median)));
  fs::remove_all(dir);
}

TEST_CASE("sparrow SUBCOMMAND --help shows its own examples and its defaults", "[cli]") {
  const auto help = [](const std::string& sub) {
    const auto r = run_command(kSparrow + " " + sub + " --help");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, !Catch::Contains("sparrow inspect model.sparrow --json\n"));  // the top-level examples
    return r.output;
  };
  const std::string run = help("run"), bench = help("bench"), inspect = help("inspect");
  CHECK_THAT(run, Catch::Contains("sparrow run cnn.sparrow --input images.jsonl") && Catch::Contains("--batch UINT:INT in [1 - 4096]=8\n") &&
                      Catch::Contains("Engine threads, 1 to 256 (default: all cores; environment: SPARROW_THREADS)"));
  CHECK_THAT(bench, Catch::Contains("sparrow bench bert90.sparrow --batch 8 --seq 128") && Catch::Contains("--batch UINT:INT in [1 - 4096]=1\n") &&
                        Catch::Contains("--warmup UINT:INT in [0 - 100000]=5\n") &&
                        Catch::Contains("--iterations UINT:INT in [1 - 1000000]=50\n") &&
                        Catch::Contains("--seq UINT:INT in [1 - 4096]=128\n") && Catch::Contains("(default: 1; environment: SPARROW_THREADS)") &&
                        !Catch::Contains("sparrow run "));
  CHECK_THAT(inspect, Catch::Contains("sparrow inspect model.sparrow --json | jq") && !Catch::Contains("sparrow bench "));
}
