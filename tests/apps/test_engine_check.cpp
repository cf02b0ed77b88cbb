// The engine's part of a compress report (lib/pipeline/engine_check.cpp) and how its speed is measured
// (lib/pipeline/speed_comparison.cpp): accuracy through the engine equals the model's own, the report has the
// documented keys, the busy-machine rule's thresholds, and nothing is added without a model.sparrow. Speed
// itself is never asserted.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/files.h"
#include "export/exporter.h"
#include "models/cnn.h"
#include "pipeline/engine_check.h"
#include "pipeline/speed_comparison.h"
#include "support/small_models.h"

using namespace sparrow;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  std::shared_ptr<models::Cnn> cnn;
  data::Dataset test;
  fs::path file = fs::temp_directory_path() / ("sparrow_engine_check_" + std::to_string(::getpid()) + ".sparrow");

  Fixture() {
    testing::SmallCnn shape;
    shape.seed = 5;
    cnn = testing::small_cnn(shape);
    test.inputs = torch::randn({40, 1, 8, 8});
    test.labels = torch::randint(0, 3, {40}, torch::kInt64);
    test.label_names = {"0", "1", "2"};
  }
  ~Fixture() { fs::remove(file); }
};

// Points the load average at a file for the test's lifetime (read only with SPARROW_TEST=1, which ctest sets).
struct FakeLoad {
  fs::path path = fs::temp_directory_path() / ("sparrow_loadavg_" + std::to_string(::getpid()));
  explicit FakeLoad(const std::string& text) {
    write_file_atomic(path, text);
    ::setenv("SPARROW_TEST", "1", 1);
    ::setenv("SPARROW_TEST_LOADAVG", path.c_str(), 1);
  }
  ~FakeLoad() {
    ::unsetenv("SPARROW_TEST_LOADAVG");
    fs::remove(path);
  }
};

}  // namespace

TEST_CASE("engine check: the report gets the engine's accuracy and its speed against dense LibTorch", "[cli][engine]") {
  Fixture f;
  nlohmann::json report = {{"engine", nullptr}};
  pipeline::add_engine_check(report, f.file, f.test, *f.cnn, nullptr, 1);
  CHECK(report["engine"].is_null());

  exporter::export_model(*f.cnn, f.file, {});
  torch::set_num_threads(3);
  pipeline::add_engine_check(report, f.file, f.test, *f.cnn, nullptr, 2);
  torch::NoGradGuard g;
  const double expected =
      (f.cnn->logits({f.test.inputs, {}, f.test.labels}).argmax(1) == f.test.labels).to(torch::kFloat64).mean().item<double>();
  REQUIRE(report["engine"].is_object());
  const auto& e = report["engine"];
  CHECK(e["accuracy"].get<double>() == Approx(expected));
  CHECK(e["speedup"].get<double>() > 0);
  CHECK(e["baseline_items_per_second"].get<double>() > 0);
  CHECK(e["threads"] == 2);
  CHECK(e["reliable"].is_boolean());
  CHECK(e.contains("unreliable_reason") == !e["reliable"].get<bool>());

  // The documented keys (docs/benchmarks.md, "Measuring on a busy machine").
  const auto& m = e["measurement"];
  CHECK(m["method"].get<std::string>().find("interleaved") != std::string::npos);
  CHECK(m["rounds"] == 5);
  CHECK(m["items_per_repetition"] == 40);
  CHECK(m["engine"]["threads"] == 2);
  REQUIRE(m["baseline"].size() == 2);  // LibTorch at 1 thread and at the engine's 2
  CHECK(m["baseline"][0]["threads"] == 1);
  CHECK(m["baseline"][1]["threads"] == 2);
  for (const auto& side : {m["engine"], m["baseline"][0], m["baseline"][1]}) {
    for (const char* key : {"wall_seconds", "cpu_seconds"}) {
      CHECK(side[key]["min"].get<double>() <= side[key]["median"].get<double>());
      CHECK(side[key]["median"].get<double>() <= side[key]["max"].get<double>());
    }
    CHECK(side["cpu_share"].get<double>() >= 0);
  }
  // The speed-up is the ratio of the medians, LibTorch at its faster setting.
  const double base0 = m["baseline"][0]["wall_seconds"]["median"], base1 = m["baseline"][1]["wall_seconds"]["median"];
  CHECK(m["baseline_threads"] == (base1 < base0 ? 2 : 1));
  CHECK(e["speedup"].get<double>() == Approx(std::min(base0, base1) / m["engine"]["wall_seconds"]["median"].get<double>()));
  CHECK(m["cpu_speedup"].get<double>() > 0);
  CHECK(m["load_average"]["cpus"].get<int>() >= 1);
  CHECK(m["load_average"].contains("before"));
  CHECK(m["load_average"].contains("after"));
  CHECK(torch::get_num_threads() == 3);  // LibTorch's setting is left as it was

  // Batch 1 and 32, each at 1 thread and at the run's 2; by default the top-level figure is batch 32, 2 threads.
  REQUIRE(e["configurations"].size() == 4);
  std::vector<std::pair<int, int>> seen;
  for (const auto& c : e["configurations"]) {
    seen.emplace_back(c["batch"].get<int>(), c["threads"].get<int>());
    CHECK(c["speedup"].get<double>() > 0);
    CHECK(c["measurement"]["engine"]["threads"] == c["threads"]);
    // At 1 thread LibTorch runs at 1 thread only; at 2, at 1 and 2.
    CHECK(c["measurement"]["baseline"].size() == c["threads"].get<std::size_t>());
    CHECK(c["measurement"]["items_per_repetition"] == (c["batch"] == 1 ? 16 : 40));
  }
  CHECK(seen == std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {32, 1}, {32, 2}});
  CHECK(e["batch"] == 32);
  CHECK(e["speedup"] == e["configurations"][3]["speedup"]);

  // A recipe's gates may choose batch 1 at 1 thread instead.
  nlohmann::json single;
  pipeline::add_engine_check(single, f.file, f.test, *f.cnn, nullptr, 2, 1, 1);
  CHECK(single["engine"]["batch"] == 1);
  CHECK(single["engine"]["threads"] == 1);
  CHECK(single["engine"]["speedup"] == single["engine"]["configurations"][0]["speedup"]);
  CHECK(single["engine"]["measurement"]["items_per_repetition"] == 16);
  CHECK(single["engine"]["accuracy"] == e["accuracy"]);
}

TEST_CASE("engine check: a load average above the CPUs marks the figure unreliable, with what was seen", "[cli][engine]") {
  Fixture f;
  exporter::export_model(*f.cnn, f.file, {});
  const FakeLoad load("99.00 98.00 97.00 3/400 1234\n");
  CHECK(pipeline::read_load_average() == 99.0);
  nlohmann::json report;
  pipeline::add_engine_check(report, f.file, f.test, *f.cnn, nullptr, 1);
  CHECK(report["engine"]["reliable"] == false);
  CHECK_THAT(report["engine"]["unreliable_reason"].get<std::string>(), Catch::Contains("load average 99.00 before and 99.00 after on"));
  CHECK(report["engine"]["measurement"]["load_average"]["before"] == 99.0);
}

TEST_CASE("speed comparison: the load average is read only from /proc unless SPARROW_TEST=1, and nonsense is unknown", "[cli][engine]") {
  const FakeLoad load("nonsense\n");
  CHECK_FALSE(pipeline::read_load_average().has_value());
  ::setenv("SPARROW_TEST", "0", 1);
  const auto real = pipeline::read_load_average();  // /proc/loadavg
  ::setenv("SPARROW_TEST", "1", 1);
  REQUIRE(real.has_value());
  CHECK(*real >= 0);
}

TEST_CASE("speed comparison: the busy-machine rule and its thresholds", "[cli][engine]") {
  using pipeline::judge_measurement;
  pipeline::LoadAverage quiet;
  quiet.cpus = 2;
  quiet.before = 1.0;
  quiet.after = 2.5;  // cpus + kLoadSlack: still allowed (this process's own threads count)
  CHECK(pipeline::kMinCpuShare == 0.8);
  CHECK(pipeline::kLoadSlack == 0.5);
  CHECK(judge_measurement(0.8, "LibTorch", quiet, 2).reliable);
  CHECK(judge_measurement(1.0, "LibTorch", {std::nullopt, std::nullopt, 2}, 2).reliable);  // no /proc: the CPU share decides

  const auto preempted = judge_measurement(0.79, "LibTorch", quiet, 2);
  CHECK_FALSE(preempted.reliable);
  CHECK(preempted.reason == "LibTorch at 1 thread got 79 % of a CPU over its wall time, under the 80 % allowed: it was preempted");

  pipeline::LoadAverage busy = quiet;
  busy.after = 2.51;
  const auto loaded = judge_measurement(1.0, "LibTorch", busy, 2);
  CHECK_FALSE(loaded.reliable);
  CHECK(loaded.reason == "load average 1.00 before and 2.51 after on 2 CPUs, above the 2.5 allowed");
  // More threads than CPUs: the measurement's own threads may raise the load that far.
  CHECK(judge_measurement(1.0, "LibTorch", busy, 4).reliable);
  busy.before = std::nullopt;
  busy.after = 4.6;
  CHECK(judge_measurement(1.0, "the engine", busy, 4).reason == "load average unknown before and 4.60 after on 2 CPUs, above the 4.5 allowed");

  const auto both = judge_measurement(0.5, "the engine", busy, 1);
  CHECK(both.reason ==
        "load average unknown before and 4.60 after on 2 CPUs, above the 2.5 allowed; the engine at 1 thread got 50 % of a CPU "
        "over its wall time, under the 80 % allowed: it was preempted");
}

TEST_CASE("speed comparison: rounds are interleaved, the order reversed every other round, medians taken", "[cli][engine]") {
  std::vector<std::string> order;
  int warm = 0;
  const auto c = pipeline::compare_speed([&] { order.push_back("E"); },
                                     [&](std::size_t threads) { order.push_back("B" + std::to_string(threads)); },
                                     {3, 1, 3, [&] { warm = static_cast<int>(order.size()); }});
  CHECK(warm == 3);
  CHECK(order == std::vector<std::string>{"E", "B1", "B3", "E", "B1", "B3", "B3", "B1", "E", "E", "B1", "B3"});
  CHECK(c.engine.wall.size() == 3);
  REQUIRE(c.baselines.size() == 1);
  REQUIRE(c.baselines[0].runs.size() == 2);
  CHECK(c.baselines[0].label == "LibTorch");
  CHECK(c.baselines[0].runs[1].threads == 3);
  CHECK(c.baselines[0].runs[0].process_cpu.size() == 3);
  CHECK(c.to_json(10)["measurement"]["rounds"] == 3);

  pipeline::Timings t;
  t.wall = {1, 5, 2, 4};
  t.thread_cpu = {1, 2.5, 2, 4};
  CHECK(t.median_wall() == 3);
  CHECK(t.cpu_share() == 1);  // shares 1, 0.5, 1, 1
}

TEST_CASE("speed comparison: a second baseline runs in the same rounds and gets its own keys", "[cli][engine]") {
  std::vector<std::string> order;
  const auto c = pipeline::compare_speed([&] { order.push_back("E"); },
                                         {{"LibTorch FP32", "", [&](std::size_t threads) { order.push_back("F" + std::to_string(threads)); }},
                                          {"LibTorch INT8", "int8", [&](std::size_t threads) { order.push_back("I" + std::to_string(threads)); }}},
                                         {2, 1, 2, nullptr});
  CHECK(order == std::vector<std::string>{"E", "F1", "F2", "I1", "I2", "E", "F1", "F2", "I1", "I2", "I2", "I1", "F2", "F1", "E"});
  REQUIRE(c.baselines.size() == 2);
  CHECK(c.baselines[1].key == "int8");
  CHECK(c.baselines[1].runs.size() == 2);
  CHECK(c.baselines[1].runs[1].wall.size() == 2);

  const auto j = c.to_json(4);
  // The first baseline keeps the stable keys; the second's are prefixed (docs/benchmarks.md).
  for (const char* key : {"speedup", "baseline_items_per_second", "speedup_vs_int8", "int8_baseline_items_per_second"})
    CHECK(j[key].get<double>() > 0);
  for (const char* key : {"baseline_threads", "cpu_speedup", "int8_baseline_threads", "int8_cpu_speedup"}) CHECK(j["measurement"].contains(key));
  REQUIRE(j["measurement"]["int8_baseline"].size() == 2);
  const double int8_best = std::min(j["measurement"]["int8_baseline"][0]["wall_seconds"]["median"].get<double>(),
                                    j["measurement"]["int8_baseline"][1]["wall_seconds"]["median"].get<double>());
  CHECK(j["speedup_vs_int8"].get<double>() == Approx(int8_best / j["measurement"]["engine"]["wall_seconds"]["median"].get<double>()));
  CHECK(c.speedup(1) == Approx(j["speedup_vs_int8"].get<double>()));
  CHECK(j["measurement"]["method"] ==
        "2 interleaved rounds of one repetition each of the engine at 2 thread(s), LibTorch FP32 at 1 and 2 threads, LibTorch INT8 "
        "at 1 and 2 threads, the order reversed every other round, after 1 warm-up repetition(s) of each; medians of wall time, each "
        "baseline at its faster thread count");

  CHECK(pipeline::baseline_json_key("", "speedup") == "speedup");
  CHECK(pipeline::baseline_json_key("int8", "speedup") == "speedup_vs_int8");
  CHECK(pipeline::baseline_json_key("int8", "baseline_latency_ms") == "int8_baseline_latency_ms");

  const auto nothing = [](std::size_t) {};
  CHECK_THROWS_AS(pipeline::compare_speed([] {}, {{"A", "int8", nothing}}, {}), InternalError);
  CHECK_THROWS_AS(pipeline::compare_speed([] {}, {{"A", "", nothing}, {"B", "", nothing}}, {}), InternalError);
  CHECK_THROWS_AS(pipeline::compare_speed([] {}, {{"A", "", nothing}, {"B", "x", nothing}, {"C", "x", nothing}}, {}), InternalError);
}
