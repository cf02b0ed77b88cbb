#include "pipeline/sweep_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>

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

std::string int8_label(bool int8) { return int8 ? "on" : "off"; }

// Rows (mask, int8) in the order the points first name them.
std::vector<std::pair<std::string, bool>> series(const std::vector<SweepPoint>& points) {
  std::vector<std::pair<std::string, bool>> keys;
  for (const auto& p : points)
    if (std::find(keys.begin(), keys.end(), std::make_pair(p.mask, p.int8)) == keys.end()) keys.emplace_back(p.mask, p.int8);
  return keys;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

}  // namespace

void read_point_report(SweepPoint& point, const nlohmann::json& report) {
  point.trainer_accuracy = number_at(report, "compressed", "accuracy");
  point.measured_sparsity = number_at(report, "compressed", "sparsity");
  point.engine_accuracy = number_at(report, "engine", "accuracy");
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
              {"engine_accuracy", optional_json(p.engine_accuracy)},
              {"speedup", optional_json(p.speedup)},
              {"model_bytes", optional_json(p.model_bytes)},
              {"measured_sparsity", optional_json(p.measured_sparsity)},
              {"wall_seconds", optional_json(p.wall_seconds)}};
    if (!p.done) j["error"] = p.error;
    list.push_back(j);
  }
  return {{"sweep_version", 1}, {"recipe", recipe}, {"points", list}};
}

std::string sweep_markdown(const std::string& recipe, const std::vector<SweepPoint>& points) {
  std::vector<double> sparsities;
  for (const auto& p : points) sparsities.push_back(p.sparsity);
  std::sort(sparsities.begin(), sparsities.end());
  sparsities.erase(std::unique(sparsities.begin(), sparsities.end()), sparsities.end());

  std::ostringstream out;
  out << "# compress sweep of " << recipe << "\n\n"
      << "Each cell: trainer accuracy / engine accuracy (%) · engine speed-up against dense FP32 LibTorch, measured "
         "in the point's run. INT8 on: trained with quantization (QAT); off: trained without it (the exported "
         "file is still INT8, its activation ranges calibrated).\n\n"
      << "| mask | INT8 |";
  for (const double s : sparsities) out << fmt::format(" {:g} % |", s * 100);
  out << "\n|---|---|";
  for (size_t i = 0; i < sparsities.size(); ++i) out << "--:|";
  out << "\n";
  for (const auto& key : series(points)) {
    out << "| " << key.first << " | " << int8_label(key.second) << " |";
    for (const double s : sparsities) {
      const auto it = std::find_if(points.begin(), points.end(), [&](const SweepPoint& p) {
        return p.mask == key.first && p.int8 == key.second && p.sparsity == s;
      });
      if (it == points.end()) out << " |";
      else if (!it->done) out << " failed |";
      else
        out << " " << percent(it->trainer_accuracy) << " / " << percent(it->engine_accuracy) << " · "
            << (it->speedup ? fmt::format("{:.2f}×", *it->speedup) : "–") << " |";
    }
    out << "\n";
  }
  out << "\n| point | mask | INT8 | sparsity | measured | trainer acc. % | engine acc. % | speed-up | file bytes | wall s |\n"
      << "|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& p : points) {
    out << "| " << p.name << " | " << p.mask << " | " << int8_label(p.int8) << " | " << fmt::format("{:g}", p.sparsity);
    if (!p.done) {
      out << " | failed: " << p.error << " ||||||\n";
      continue;
    }
    out << " | " << (p.measured_sparsity ? fmt::format("{:.4f}", *p.measured_sparsity) : "–") << " | "
        << percent(p.trainer_accuracy) << " | " << percent(p.engine_accuracy) << " | "
        << (p.speedup ? fmt::format("{:.2f}×", *p.speedup) : "–") << " | "
        << (p.model_bytes ? fmt::format("{:.0f}", *p.model_bytes) : "–") << " | "
        << (p.wall_seconds ? fmt::format("{:.0f}", *p.wall_seconds) : "–") << " |\n";
  }
  return out.str();
}

std::string sweep_svg(const std::vector<SweepPoint>& points) {
  constexpr double kWidth = 720, kHeight = 440, kLeft = 70, kRight = 200, kTop = 40, kBottom = 60;
  constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
  // Plotted: finished points with both an engine accuracy and a speed-up.
  std::map<std::pair<std::string, bool>, std::vector<const SweepPoint*>> plotted;
  double x_max = 1, y_min = std::numeric_limits<double>::infinity(), y_max = -y_min;
  for (const auto& p : points) {
    if (!p.done || !p.engine_accuracy || !p.speedup) continue;
    plotted[{p.mask, p.int8}].push_back(&p);
    x_max = std::max(x_max, *p.speedup);
    y_min = std::min(y_min, *p.engine_accuracy * 100);
    y_max = std::max(y_max, *p.engine_accuracy * 100);
  }
  if (y_min > y_max) {  // nothing to plot: an empty frame
    y_min = 0;
    y_max = 100;
  }
  // Axes from 0 to a whole speed-up, and accuracy over whole multiples of 5 points around the data.
  x_max = std::ceil(x_max);
  y_min = std::floor(y_min / 5) * 5;
  y_max = std::max(y_min + 5, std::ceil(y_max / 5) * 5);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const auto x_at = [&](double v) { return kLeft + v / x_max * plot_w; };
  const auto y_at = [&](double v) { return kTop + (y_max - v) / (y_max - y_min) * plot_h; };

  std::ostringstream out;
  out << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                     "font-family=\"sans-serif\" font-size=\"12\">\n",
                     kWidth, kHeight)
      << fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", kWidth, kHeight)
      << fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Engine accuracy against speed-up "
                     "over dense FP32</text>\n",
                     kLeft + plot_w / 2);
  for (int i = 0; i <= 5; ++i) {
    const double xv = x_max * i / 5, yv = y_min + (y_max - y_min) * i / 5;
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x_at(xv), kTop,
                       kTop + plot_h)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}×</text>\n", x_at(xv), kTop + plot_h + 16, xv)
        << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n", kLeft, y_at(yv),
                       kLeft + plot_w)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", kLeft - 6, y_at(yv) + 4, yv);
  }
  out << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"black\"/>\n", kLeft,
                     kTop, plot_w, plot_h)
      << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">engine speed-up vs dense FP32 LibTorch (×)</text>\n",
                     kLeft + plot_w / 2, kHeight - 18)
      << fmt::format("<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">engine accuracy (%)</text>\n",
                     kTop + plot_h / 2);
  size_t index = 0;
  for (const auto& key : series(points)) {
    const auto it = plotted.find(key);
    if (it == plotted.end()) continue;
    auto line = it->second;
    std::sort(line.begin(), line.end(), [](const SweepPoint* a, const SweepPoint* b) { return a->sparsity < b->sparsity; });
    const char* color = kColors[index % std::size(kColors)];
    out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (const auto* p : line) out << fmt::format("{:.1f},{:.1f} ", x_at(*p->speedup), y_at(*p->engine_accuracy * 100));
    out << "\"/>\n";
    for (const auto* p : line)
      out << fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} ({:g} %)</title></circle>\n",
                         x_at(*p->speedup), y_at(*p->engine_accuracy * 100), color, xml_escape(p->name), p->sparsity * 100);
    const double ly = kTop + 10 + 20 * static_cast<double>(index);
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" stroke-width=\"2\"/>\n",
                       kLeft + plot_w + 15, ly, kLeft + plot_w + 40, color)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}, {}</text>\n", kLeft + plot_w + 46, ly + 4, xml_escape(key.first),
                       key.second ? "INT8 (QAT)" : "no QAT");
    ++index;
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace sparrow::pipeline
