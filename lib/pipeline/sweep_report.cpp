#include "pipeline/sweep_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "pipeline/html_page.h"
#include "pipeline/svg_plot.h"

namespace sparrow::pipeline {

namespace {

using nlohmann::json;

std::optional<double> number_at(const json& j, const char* section, const char* key) {
  if (!j.contains(section) || !j[section].is_object() || !j[section].contains(key) || !j[section][key].is_number())
    return std::nullopt;
  return j[section][key].get<double>();
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string percent(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v * 100) : "–"; }
std::string number(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : "–"; }

std::string int8_label(bool int8) { return int8 ? "on" : "off"; }

// A row's name: the mask, after the method when the sweep put one in ("sparsegpt block4").
std::string row_label(const SweepPoint& p) { return p.method.empty() ? p.mask : p.method + " " + p.mask; }

// Rows (method and mask, int8) in the order the points first name them.
std::vector<std::pair<std::string, bool>> series(const std::vector<SweepPoint>& points) {
  std::vector<std::pair<std::string, bool>> keys;
  for (const auto& p : points)
    if (std::find(keys.begin(), keys.end(), std::make_pair(row_label(p), p.int8)) == keys.end()) keys.emplace_back(row_label(p), p.int8);
  return keys;
}

constexpr const char* kGridCaption =
    "Each cell: trainer accuracy / engine accuracy (%) · engine speed-up against dense FP32 LibTorch, measured in the "
    "point's run (a causal LM: ppl, the trainer's / the engine's validation perplexity, and decoding's speed-up). INT8 on: trained with quantization (QAT); off: trained without it (the exported file is still INT8, "
    "its activation ranges calibrated).";

// A table of text cells, for sweep.md and sweep.html alike. A row shorter than the header leaves its last cells out.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t left_columns = 0;  // the first columns are text, the others numbers (right-aligned in Markdown)
};

std::string markdown(const Table& t) {
  std::string out = "|";
  for (const auto& h : t.header) out += " " + h + " |";
  out += "\n|";
  for (size_t i = 0; i < t.header.size(); ++i) out += i < t.left_columns ? "---|" : "--:|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += cell.empty() ? " |" : " " + cell + " |";
    out += std::string(t.header.size() - std::min(row.size(), t.header.size()), '|') + "\n";
  }
  return out;
}

// Rows mask x INT8, columns sparsity: accuracies and speed-up in each cell.
Table grid_table(const std::vector<SweepPoint>& points) {
  std::vector<double> sparsities;
  for (const auto& p : points) sparsities.push_back(p.sparsity);
  std::sort(sparsities.begin(), sparsities.end());
  sparsities.erase(std::unique(sparsities.begin(), sparsities.end()), sparsities.end());
  Table t{{"mask", "INT8"}, {}, 2};
  for (const double s : sparsities) t.header.push_back(fmt::format("{:g} %", s * 100));
  for (const auto& key : series(points)) {
    std::vector<std::string> row = {key.first, int8_label(key.second)};
    for (const double s : sparsities) {
      const auto it = std::find_if(points.begin(), points.end(), [&](const SweepPoint& p) {
        return row_label(p) == key.first && p.int8 == key.second && p.sparsity == s;
      });
      if (it == points.end()) row.emplace_back();
      else if (!it->done) row.emplace_back("failed");
      else
        row.push_back((it->trainer_perplexity ? fmt::format("ppl {:.2f} / {}", *it->trainer_perplexity, number(it->engine_perplexity))
                                              : percent(it->trainer_accuracy) + " / " + percent(it->engine_accuracy)) +
                      " · " + (it->speedup ? fmt::format("{:.2f}×", *it->speedup) : "–"));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// One row per point with its figures; a failed point's row ends with its error.
Table points_table(const std::vector<SweepPoint>& points) {
  Table t{{"point", "mask", "INT8", "sparsity", "measured", "trainer acc. %", "perplexity", "engine acc. %", "engine ppl", "speed-up", "file bytes", "wall s"},
          {},
          3};
  for (const auto& p : points) {
    std::vector<std::string> row = {p.name, p.mask, int8_label(p.int8), fmt::format("{:g}", p.sparsity)};
    if (!p.done) {
      row.push_back("failed: " + p.error);
    } else {
      row.push_back(p.measured_sparsity ? fmt::format("{:.4f}", *p.measured_sparsity) : "–");
      row.push_back(percent(p.trainer_accuracy));
      row.push_back(number(p.trainer_perplexity));
      row.push_back(percent(p.engine_accuracy));
      row.push_back(number(p.engine_perplexity));
      row.push_back(p.speedup ? fmt::format("{:.2f}×", *p.speedup) : "–");
      row.push_back(p.model_bytes ? fmt::format("{:.0f}", *p.model_bytes) : "–");
      row.push_back(p.wall_seconds ? fmt::format("{:.0f}", *p.wall_seconds) : "–");
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace

void read_point_report(SweepPoint& point, const nlohmann::json& report) {
  point.trainer_accuracy = number_at(report, "compressed", "accuracy");
  point.trainer_perplexity = number_at(report, "compressed", "perplexity");
  point.measured_sparsity = number_at(report, "compressed", "sparsity");
  point.engine_accuracy = number_at(report, "engine", "accuracy");
  point.engine_perplexity = number_at(report, "engine", "perplexity");
  point.speedup = number_at(report, "engine", "speedup");
  point.model_bytes = number_at(report, "export", "bytes");
  if (report.contains("wall_seconds") && report["wall_seconds"].is_number()) point.wall_seconds = report["wall_seconds"].get<double>();
}

nlohmann::json sweep_json(const std::string& recipe, const std::vector<SweepPoint>& points) {
  json list = json::array();
  for (const auto& p : points) {
    json j = {{"name", p.name},
              {"mask", p.mask},
              {"sparsity", p.sparsity},
              {"int8", p.int8},
              {"status", p.done ? "done" : "failed"},
              {"trainer_accuracy", optional_json(p.trainer_accuracy)},
              {"trainer_perplexity", optional_json(p.trainer_perplexity)},
              {"engine_accuracy", optional_json(p.engine_accuracy)},
              {"engine_perplexity", optional_json(p.engine_perplexity)},
              {"speedup", optional_json(p.speedup)},
              {"model_bytes", optional_json(p.model_bytes)},
              {"measured_sparsity", optional_json(p.measured_sparsity)},
              {"wall_seconds", optional_json(p.wall_seconds)}};
    if (!p.method.empty()) j["method"] = p.method;
    if (!p.done) j["error"] = p.error;
    list.push_back(j);
  }
  return {{"sweep_version", 1}, {"recipe", recipe}, {"points", list}};
}

std::string sweep_markdown(const std::string& recipe, const std::vector<SweepPoint>& points) {
  std::ostringstream out;
  out << "# compress sweep of " << recipe << "\n\n" << kGridCaption << "\n\n"
      << markdown(grid_table(points)) << "\n" << markdown(points_table(points));
  return out.str();
}

std::string sweep_html(const std::string& recipe, const std::vector<SweepPoint>& points) {
  const auto table = [](const Table& t) { return html::table(t.header, t.rows); };
  return html::page("compress sweep of " + recipe,
                    html::section("grid", "Accuracy and speed-up per point", "<p>" + svg::escape(kGridCaption) + "</p>\n" +
                                                                                 table(grid_table(points))) +
                        html::section("plot", "Accuracy against speed-up", sweep_svg(points)) +
                        html::section("points", "Points", table(points_table(points))));
}

std::string sweep_svg(const std::vector<SweepPoint>& points) {
  // Plotted: finished points with a speed-up and the engine's figure: accuracy, or a causal LM's perplexity
  // when any point has one.
  const bool lm = std::any_of(points.begin(), points.end(), [](const SweepPoint& p) { return p.engine_perplexity.has_value(); });
  const auto figure = [lm](const SweepPoint& p) -> std::optional<double> {
    if (lm) return p.engine_perplexity;
    if (p.engine_accuracy) return *p.engine_accuracy * 100;
    return std::nullopt;
  };
  std::map<std::pair<std::string, bool>, std::vector<const SweepPoint*>> plotted;
  double x_max = 1, y_min = std::numeric_limits<double>::infinity(), y_max = -y_min;
  for (const auto& p : points) {
    if (!p.done || !figure(p) || !p.speedup) continue;
    plotted[{row_label(p), p.int8}].push_back(&p);
    x_max = std::max(x_max, *p.speedup);
    y_min = std::min(y_min, *figure(p));
    y_max = std::max(y_max, *figure(p));
  }
  if (y_min > y_max) {  // nothing to plot: an empty frame
    y_min = 0;
    y_max = 100;
  }
  svg::LinePlot plot;
  plot.title = lm ? "Engine perplexity against speed-up over dense FP32" : "Engine accuracy against speed-up over dense FP32";
  plot.x = {"engine speed-up vs dense FP32 LibTorch (×)", 0, std::ceil(x_max), 5, "×"};
  if (lm) {
    plot.x.label = "engine decoding speed-up vs dense FP32 LibTorch (×)";
    plot.y = svg::nice_axis("engine perplexity (validation)", y_min, y_max);
  } else {
    // Axes from 0 to a whole speed-up, and accuracy over whole multiples of 5 points around the data.
    y_min = std::floor(y_min / 5) * 5;
    plot.y = {"engine accuracy (%)", y_min, std::max(y_min + 5, std::ceil(y_max / 5) * 5), 5, ""};
  }
  for (const auto& key : series(points)) {
    const auto it = plotted.find(key);
    if (it == plotted.end()) continue;
    auto line = it->second;
    std::sort(line.begin(), line.end(), [](const SweepPoint* a, const SweepPoint* b) { return a->sparsity < b->sparsity; });
    svg::Series s;
    s.name = key.first + (key.second ? ", INT8 (QAT)" : ", no QAT");
    for (const auto* p : line) {
      s.x.push_back(*p->speedup);
      s.y.push_back(*figure(*p));
      s.titles.push_back(fmt::format("{} ({:g} %)", p->name, p->sparsity * 100));
    }
    plot.series.push_back(std::move(s));
  }
  return svg::line_plot(plot);
}

}  // namespace sparrow::pipeline
