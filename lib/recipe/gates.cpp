#include "recipe/gates.h"

#include <cstdio>

namespace sparrow::recipe {

namespace {

// Six significant digits: a measured 0.010000000000000009 reads 0.01.
std::string shown(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::optional<double> figure(const nlohmann::json& report, const char* section, const char* key) {
  if (!report.contains(section) || !report[section].is_object()) return std::nullopt;
  const auto& s = report[section];
  if (!s.contains(key) || !s[key].is_number()) return std::nullopt;
  return s[key].get<double>();
}

GateResult at_least(const char* name, double threshold, std::optional<double> value, const char* missing) {
  GateResult g{name, threshold, value, value && *value >= threshold, "", ""};
  if (!value) g.note = missing;
  return g;
}

GateResult at_most(const char* name, double threshold, std::optional<double> value, const char* missing) {
  GateResult g{name, threshold, value, value && *value <= threshold, "", ""};
  if (!value) g.note = missing;
  return g;
}

}  // namespace

std::vector<GateResult> evaluate_gates(const GateSpec& gates, const nlohmann::json& report) {
  std::vector<GateResult> out;
  const auto compressed = figure(report, "compressed", "accuracy");
  if (gates.min_accuracy)
    out.push_back(at_least("min_accuracy", *gates.min_accuracy, compressed, "compressed accuracy not measured"));
  if (gates.max_accuracy_drop) {
    const auto dense = figure(report, "dense", "accuracy");
    GateResult g{"max_accuracy_drop", *gates.max_accuracy_drop, std::nullopt, false, "", ""};
    if (dense && compressed) {
      g.value = *dense - *compressed;
      g.passed = *g.value <= *gates.max_accuracy_drop;
    } else {
      g.note = "dense accuracy not measured (pruning started before the first evaluation)";
    }
    out.push_back(g);
  }
  if (gates.min_accuracy_ratio) {
    const auto dense = figure(report, "dense", "accuracy");
    out.push_back(at_least("min_accuracy_ratio", *gates.min_accuracy_ratio,
                           dense && compressed && *dense > 0 ? std::optional<double>(*compressed / *dense) : std::nullopt,
                           "dense accuracy not measured (no teacher, and pruning started before the first evaluation)"));
  }
  if (gates.min_sparsity)
    out.push_back(at_least("min_sparsity", *gates.min_sparsity, figure(report, "compressed", "sparsity"),
                           "compressed sparsity not measured"));
  if (gates.min_speedup) {
    GateResult g = at_least("min_speedup", *gates.min_speedup, figure(report, "engine", "speedup"),
                            "speedup not measured: this run did not benchmark the engine");
    // A figure measured on a busy machine can be many times the real one: it never passes a gate.
    const nlohmann::json engine = report.value("engine", nlohmann::json());
    if (g.value && engine.is_object() && engine.contains("batch") && engine.contains("threads"))
      g.measured_at = "batch " + engine["batch"].dump() + ", " + engine["threads"].dump() +
                      (engine["threads"] == 1 ? " thread" : " threads");
    if (g.value && engine.is_object() && engine.value("reliable", true) == false) {
      g.passed = false;
      g.note = "not counted: the machine was too busy to measure the speed-up; " + engine.value("unreliable_reason", std::string("no reason recorded"));
    }
    out.push_back(g);
  }
  const auto perplexity = figure(report, "compressed", "perplexity");
  if (gates.max_perplexity)
    out.push_back(at_most("max_perplexity", *gates.max_perplexity, perplexity,
                          "compressed perplexity not measured (only a causal language model has one)"));
  if (gates.max_perplexity_ratio) {
    const auto dense = figure(report, "dense", "perplexity");
    out.push_back(at_most("max_perplexity_ratio", *gates.max_perplexity_ratio,
                          dense && perplexity && *dense > 0 ? std::optional<double>(*perplexity / *dense) : std::nullopt,
                          "dense perplexity not measured (no teacher, and pruning started before the first evaluation)"));
  }
  return out;
}

nlohmann::json gates_json(const std::vector<GateResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : results) {
    nlohmann::json j = {{"name", g.name},
                        {"threshold", g.threshold},
                        {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json(nullptr)},
                        {"passed", g.passed}};
    if (!g.note.empty()) j["note"] = g.note;
    if (!g.measured_at.empty()) j["measured_at"] = g.measured_at;
    out.push_back(j);
  }
  return out;
}

std::string gate_failures(const std::vector<GateResult>& results) {
  std::string out;
  for (const auto& g : results) {
    if (g.passed) continue;
    if (!out.empty()) out += "\n";
    out += "gate " + g.name + " failed: threshold " + shown(g.threshold) + ", measured " +
           (g.value ? shown(*g.value) : "nothing") + (g.note.empty() ? "" : " (" + g.note + ")");
  }
  return out;
}

}  // namespace sparrow::recipe
