// Gates against report.json figures: each passes, fails, or fails because
// its figure was not measured.
#include <catch2/catch.hpp>

#include "recipe/gates.h"

using namespace sparrow::recipe;

namespace {
nlohmann::json report(double dense, double compressed, double sparsity) {
  return {{"dense", {{"accuracy", dense}}},
          {"compressed", {{"accuracy", compressed}, {"sparsity", sparsity}, {"quantized", false}}},
          {"engine", nullptr}};
}
}  // namespace

TEST_CASE("gates: unset gates are not evaluated", "[recipe][gates]") {
  CHECK(evaluate_gates(GateSpec{}, report(0.9, 0.89, 0.9)).empty());
  CHECK(gates_json({}).is_array());
}

TEST_CASE("gates: pass and fail against the report", "[recipe][gates]") {
  GateSpec g;
  g.min_accuracy = 0.88;
  g.max_accuracy_drop = 0.005;
  g.min_sparsity = 0.85;
  const auto results = evaluate_gates(g, report(0.9, 0.89, 0.9));
  REQUIRE(results.size() == 3);
  CHECK(results[0].name == "min_accuracy");
  CHECK(results[0].passed);
  CHECK(results[1].name == "max_accuracy_drop");
  CHECK(*results[1].value == Approx(0.01));
  CHECK_FALSE(results[1].passed);
  CHECK(results[2].passed);
  CHECK(gate_failures(results) == "gate max_accuracy_drop failed: threshold 0.005, measured 0.01");
  const auto j = gates_json(results);
  CHECK(j[1]["name"] == "max_accuracy_drop");
  CHECK(j[1]["threshold"] == 0.005);
  CHECK(j[1]["passed"] == false);
  CHECK(j[0]["value"] == 0.89);
}

TEST_CASE("gates: a figure the run did not measure fails its gate", "[recipe][gates]") {
  GateSpec g;
  g.min_speedup = 10;
  g.max_accuracy_drop = 0.01;
  nlohmann::json r = report(0.9, 0.9, 0.5);
  r["dense"]["accuracy"] = nullptr;
  const auto results = evaluate_gates(g, r);
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[0].passed);
  CHECK_FALSE(results[0].value.has_value());
  CHECK(results[1].name == "min_speedup");
  CHECK_FALSE(results[1].passed);
  CHECK(gate_failures(results) ==
        "gate max_accuracy_drop failed: threshold 0.01, measured nothing (dense accuracy not measured (pruning started "
        "before the first evaluation))\n"
        "gate min_speedup failed: threshold 10, measured nothing (speedup not measured: this run did not benchmark the "
        "engine)");
  CHECK(gates_json(results)[1]["value"].is_null());
  r["engine"] = {{"speedup", 12.5}};
  CHECK(evaluate_gates(g, r)[1].passed);
}

TEST_CASE("gates: a speed-up measured on a machine too busy to measure never passes min_speedup", "[recipe][gates]") {
  GateSpec g;
  g.min_speedup = 2;
  nlohmann::json r = report(0.9, 0.9, 0.5);
  r["engine"] = {{"speedup", 111.0}, {"reliable", false}, {"unreliable_reason", "load average 9.00 before and 9.10 after on 2 CPUs"}};
  const auto results = evaluate_gates(g, r);
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].passed);
  CHECK(results[0].value == 111.0);
  CHECK(gate_failures(results) ==
        "gate min_speedup failed: threshold 2, measured 111 (not counted: the machine was too busy to measure the "
        "speed-up; load average 9.00 before and 9.10 after on 2 CPUs)");
  CHECK(gates_json(results)[0]["note"].get<std::string>().find("too busy") != std::string::npos);
  r["engine"]["reliable"] = true;
  CHECK(evaluate_gates(g, r)[0].passed);
  r["engine"].erase("reliable");  // reports written before the flag existed
  CHECK(evaluate_gates(g, r)[0].passed);
}

TEST_CASE("gates: min_accuracy_ratio divides the compressed accuracy by the dense one", "[recipe][gates]") {
  GateSpec g;
  g.min_accuracy_ratio = 0.99;
  // 0.9801 / 0.99 = 0.99 exactly in decimal; 0.97 / 0.99 = 0.9798 fails.
  auto results = evaluate_gates(g, report(0.99, 0.9801, 0.9));
  REQUIRE(results.size() == 1);
  CHECK(results[0].name == "min_accuracy_ratio");
  CHECK(*results[0].value == Approx(0.99));
  results = evaluate_gates(g, report(0.99, 0.97, 0.9));
  CHECK(*results[0].value == Approx(0.97 / 0.99));
  CHECK_FALSE(results[0].passed);
  CHECK(gate_failures(results) == "gate min_accuracy_ratio failed: threshold 0.99, measured 0.979798");
  results = evaluate_gates(g, report(0.9, 0.95, 0.9));  // better than its teacher
  CHECK(results[0].passed);
  nlohmann::json r = report(0.9, 0.9, 0.5);
  r["dense"]["accuracy"] = nullptr;
  results = evaluate_gates(g, r);
  CHECK_FALSE(results[0].passed);
  CHECK_FALSE(results[0].value.has_value());
}

TEST_CASE("gates: min_speedup says which engine configuration it checked", "[recipe][gates]") {
  GateSpec g;
  g.min_speedup = 10;
  nlohmann::json r = report(0.9, 0.9, 0.9);
  r["engine"] = {{"speedup", 12.0}, {"batch", 1}, {"threads", 1}};
  auto results = evaluate_gates(g, r);
  CHECK(results[0].passed);
  CHECK(results[0].measured_at == "batch 1, 1 thread");
  CHECK(gates_json(results)[0]["measured_at"] == "batch 1, 1 thread");
  r["engine"] = {{"speedup", 8.0}, {"batch", 32}, {"threads", 2}};
  results = evaluate_gates(g, r);
  CHECK(results[0].measured_at == "batch 32, 2 threads");
  CHECK_FALSE(results[0].passed);
}
