#include "pipeline/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/files.h"
#include "pipeline/html_page.h"
#include "pipeline/svg_plot.h"

namespace sparrow::pipeline {

namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// j[a][b]… as a number; NaN when a key is missing or the value is not a number (null: not measured).
double number(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return kNaN;
    at = &(*at)[key];
  }
  return at->is_number() ? at->get<double>() : kNaN;
}

std::string text(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "–";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// j[key], or null when j is not an object or lacks it.
const json& member(const json& j, const char* key) {
  static const json null;
  return j.is_object() && j.contains(key) ? j[key] : null;
}

bool is_causal_lm(const json& r) { return text(r, "task") == "causal_lm"; }
bool is_true(const json& j, const char* key) { return j.is_object() && j.contains(key) && j[key] == true; }

std::string fixed(double v, int digits = 4) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–"; }
std::string percent(double fraction) { return std::isfinite(fraction) ? fmt::format("{:.2f} %", fraction * 100) : "–"; }

// An axis over the finite values, from 0 when `from_zero`.
svg::Axis axis_over(const std::string& label, const std::vector<double>& values, bool from_zero, const std::string& unit = "") {
  double lo = from_zero ? 0 : std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  for (const double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(hi)) lo = 0, hi = 1;
  return svg::nice_axis(label, lo, hi, 5, unit);
}

std::string overview(const json& r) {
  const json& dataset = member(r, "dataset");
  const json& model = member(r, "model");
  std::vector<std::vector<std::string>> rows = {
      {"recipe", text(r, "recipe")},
      {"recipe SHA-256", text(r, "recipe_sha256")},
      {"task", text(r, "task")},
      {"model", text(model, "name")},
      {"data set", fmt::format("{} ({} train / {} test items)", text(dataset, "name"), text(dataset, "train_items"),
                               text(dataset, "test_items"))},
      {"seed", text(r, "seed")},
      {"Sparrow", text(r, "sparrow_version")},
      {"wall time", fixed(number(r, {"wall_seconds"}), 1) + " s"}};
  if (r.contains("export") && r["export"].is_object()) {
    const json& e = r["export"];
    rows.push_back({"engine file", fmt::format("{} ({} bytes)", text(e, "file"), text(e, "bytes"))});
    const double ratio = number(e, {"layers", "ratio"});
    if (std::isfinite(ratio)) rows.push_back({"layers' size", fmt::format("1/{:.1f} of dense FP32", ratio)});
  }
  return html::section("run", "Run", html::table({"", ""}, rows));
}

// Dense against compressed and engine: accuracy (perplexity for a causal LM) and speed.
std::string outcome(const json& r) {
  const bool lm = is_causal_lm(r);
  const char* figure = lm ? "perplexity" : "accuracy";
  const double dense = number(r, {"dense", figure}), compressed = number(r, {"compressed", figure});
  const double engine = number(r, {"engine", "accuracy"});
  std::string body;
  std::vector<std::vector<std::string>> rows;
  if (lm) {
    const bool measured = r.contains("engine") && r["engine"].is_object() && r["engine"].contains("perplexity");
    rows.push_back({"perplexity", fixed(dense, 3), fixed(compressed, 3), measured ? fixed(number(r, {"engine", "perplexity"}), 3) : "–"});
  } else {
    rows.push_back({"accuracy", percent(dense), percent(compressed), percent(engine)});
  }
  rows.push_back({"sparsity", "0", fixed(number(r, {"compressed", "sparsity"})), "–"});
  const double engine_ips = number(r, {"engine", "items_per_second"}), base_ips = number(r, {"engine", "baseline_items_per_second"});
  rows.push_back({lm ? "tokens per second decoded" : "items per second", fixed(base_ips, 1), "–", fixed(engine_ips, 1)});
  body += html::table({"", "dense (FP32, LibTorch)", "compressed (trainer)", "engine (Sparrow)"}, rows);
  if (r.contains("engine") && r["engine"].is_object()) {
    const json& e = r["engine"];
    body += fmt::format("<p>Engine speed-up over dense FP32 LibTorch: <b>{}×</b> ({} threads, batch {}, {}){}</p>\n",
                        fixed(number(e, {"speedup"}), 2), text(e, "threads"), text(e, "batch"), svg::escape(text(e, "isa")),
                        !e.contains("reliable") || is_true(e, "reliable") ? ""
                                                  : " — <b>not reliable</b>: " + svg::escape(text(e, "unreliable_reason")));
  } else {
    body += "<p>No engine check in this run (no exported file, or an empty test set).</p>\n";
  }
  svg::BarChart quality;
  if (lm) {
    quality.title = "Perplexity (lower is better)";
    quality.labels = {"dense", "compressed"};
    quality.values = {dense, compressed};
    quality.value = axis_over("perplexity", quality.values, true);
  } else {
    quality.title = "Accuracy";
    quality.labels = {"dense (LibTorch)", "compressed (trainer)", "engine (Sparrow)"};
    quality.values = {dense * 100, compressed * 100, engine * 100};
    quality.value = {"accuracy (%)", 0, 100, 5, ""};
  }
  quality.width = 540;
  quality.label_width = 170;
  quality.bar_height = 24;
  svg::BarChart speed;
  speed.title = "Items per second";
  speed.labels = {"dense FP32 (LibTorch)", "engine (Sparrow)"};
  speed.values = {base_ips, engine_ips};
  speed.value = axis_over("items per second", speed.values, true);
  speed.width = 540;
  speed.label_width = 170;
  speed.bar_height = 24;
  body += "<div class=\"plots\">\n" + svg::bar_chart(quality) + (lm ? "" : svg::bar_chart(speed)) + "</div>\n";
  return html::section("outcome", "Dense against compressed", body);
}

std::string epochs(const json& r) {
  const json& list = member(r, "epochs");
  if (!list.is_array() || list.empty())
    return html::section("epochs", "Per epoch", "<p>No epochs: a one-shot recipe compresses without training.</p>\n");
  const bool lm = is_causal_lm(r);
  std::vector<double> epoch, loss, quality, lr, sparsity;
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list) {
    epoch.push_back(number(e, {"epoch"}));
    loss.push_back(number(e, {"loss"}));
    quality.push_back(lm ? number(e, {"validation_perplexity"}) : number(e, {"accuracy"}) * 100);
    lr.push_back(number(e, {"lr"}));
    sparsity.push_back(number(e, {"sparsity"}) * 100);
    rows.push_back({fixed(epoch.back(), 2), fixed(loss.back()), lm ? fixed(quality.back(), 3) : fixed(quality.back(), 2),
                    fmt::format("{:.4g}", lr.back()), fixed(sparsity.back(), 2)});
  }
  const svg::Axis x = axis_over("epoch", epoch, true);
  const auto plot = [&](const std::string& title, const std::string& y_label, const std::vector<double>& y, bool from_zero) {
    svg::LinePlot p;
    p.title = title;
    p.x = x;
    p.y = axis_over(y_label, y, from_zero);
    p.series.push_back({title, epoch, y, {}, true});
    p.width = 520;
    p.height = 300;
    p.legend_width = 0;
    return svg::line_plot(p);
  };
  std::string body = "<div class=\"plots\">\n";
  body += plot("Training loss", "loss", loss, false);
  body += lm ? plot("Validation perplexity", "perplexity", quality, false) : plot("Test accuracy", "accuracy (%)", quality, false);
  body += plot("Learning rate", "learning rate", lr, true);
  body += plot("Sparsity", "sparsity (%)", sparsity, true);
  body += "</div>\n";
  body += html::table({"epoch", "loss", lm ? "validation perplexity" : "accuracy (%)", "learning rate", "sparsity (%)"}, rows);
  return html::section("epochs", "Per epoch", body);
}

std::string layers(const json& r, const std::optional<LayerMask>& mask) {
  const json& list = member(r, "layers");
  std::string body;
  if (list.is_array() && !list.empty()) {
    svg::BarChart chart;
    chart.title = "Sparsity per layer";
    chart.value = {"zeros (%)", 0, 100, 5, ""};
    chart.width = 900;
    chart.label_width = 400;
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : list) {
      chart.labels.push_back(text(l, "name"));
      chart.values.push_back(number(l, {"sparsity"}) * 100);
      rows.push_back({text(l, "name"), text(l, "shape"), percent(number(l, {"sparsity"})), text(l, "mask"),
                      is_true(l, "quantized") ? "yes" : "no"});
    }
    body += svg::bar_chart(chart) + "<details><summary>Table</summary>\n" +
            html::table({"parameter", "shape", "sparsity", "mask", "INT8"}, rows) + "</details>\n";
  } else {
    body += "<p>No prunable layers in the report.</p>\n";
  }
  body += mask ? mask_svg(*mask)
               : "<p>No mask picture: no layer was pruned, or the checkpoint does not hold the pruned layer.</p>\n";
  return html::section("layers", "Layers", body);
}

std::string gates(const json& r) {
  const json& list = member(r, "gates");
  if (!list.is_array() || list.empty()) return html::section("gates", "Gates", "<p>The recipe sets no gates.</p>\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : list) {
    const double value = number(g, {"value"});
    rows.push_back({text(g, "name"), fmt::format("{:.6g}", number(g, {"threshold"})),
                    std::isfinite(value) ? fmt::format("{:.6g}", value) : "–", is_true(g, "passed") ? "passed" : "FAILED",
                    g.contains("note") ? text(g, "note") : ""});
  }
  return html::section("gates", "Gates", html::table({"gate", "threshold", "value", "result", "note"}, rows));
}

std::string machine(const json& r) {
  const json& m = member(r, "machine");
  const json& e = member(r, "engine");
  std::vector<std::vector<std::string>> rows;
  if (m.is_object() && !m.empty()) {
    rows.push_back({"CPU", fmt::format("{} (family {}, model {})", text(m, "cpu"), text(m, "cpu_family"), text(m, "cpu_model"))});
    rows.push_back({"CPUs online", text(m, "cpus")});
    rows.push_back({"system", text(m, "os")});
  }
  if (e.is_object() && !e.empty()) {
    rows.push_back({"engine kernels", text(e, "isa")});
    rows.push_back({"engine threads", text(e, "threads")});
    const json& load = member(member(e, "measurement"), "load_average");
    if (load.is_object() && !load.empty())
      rows.push_back({"load average", fmt::format("{} before, {} after the timing", text(load, "before"), text(load, "after"))});
  }
  if (rows.empty()) return html::section("machine", "Machine", "<p>The report does not name the machine.</p>\n");
  return html::section("machine", "Machine", html::table({"", ""}, rows));
}

}  // namespace

std::string report_html(const json& report, const std::string& resolved_recipe, const std::optional<LayerMask>& mask) {
  std::string body = overview(report) + outcome(report) + epochs(report) + layers(report, mask) + gates(report);
  body += html::section("recipe", "Resolved recipe",
                        resolved_recipe.empty() ? "<p>No recipe.resolved.yaml beside the report.</p>\n"
                                                : "<pre>" + svg::escape(resolved_recipe) + "</pre>\n");
  body += machine(report);
  return html::page("Sparrow run: " + text(report, "recipe"), body);
}

void write_report_html(const std::filesystem::path& dir) {
  const auto report_file = dir / "report.json";
  const json report = json::parse(read_file(report_file, 64 << 20), nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) throw BadInput(report_file.string() + ": not a JSON object; expected a run's report.json");
  const auto recipe_file = dir / "recipe.resolved.yaml";
  const std::string recipe = std::filesystem::is_regular_file(recipe_file) ? read_file(recipe_file, 16 << 20) : "";
  write_file_atomic(dir / "report.html", report_html(report, recipe, read_layer_mask(report, dir / "checkpoint")));
}

}  // namespace sparrow::pipeline
