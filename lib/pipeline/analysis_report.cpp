#include "pipeline/analysis_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "pipeline/svg_plot.h"

namespace sparrow::pipeline {

namespace {

using nlohmann::json;

std::vector<double> sorted_sparsities(const json& points, const std::string& mask) {
  std::vector<double> out;
  for (const auto& p : points)
    if (p["mask"] == mask) out.push_back(p["sparsity"].get<double>());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string shape_text(const json& point) { return fmt::format("{}×{}", point["n"].get<int64_t>(), point["k"].get<int64_t>()); }

std::string micros(double seconds) { return fmt::format("{:.1f} µs", seconds * 1e6); }

// A plot's height that leaves every legend line room.
double height_for(size_t series) { return std::max(440.0, 60.0 + 20.0 * static_cast<double>(series) + 60.0); }

// A causal LM's analysis measures perplexity (lower is better), a classifier's accuracy.
bool by_perplexity(const json& a) { return a.value("metric", "accuracy") == "perplexity"; }

// A sensitivity point's change from dense: accuracy points, or perplexity percent.
double change(const json& a, const json& point) {
  if (by_perplexity(a)) return (point["perplexity"].get<double>() / a["dense"]["perplexity"].get<double>() - 1) * 100;
  return (point["accuracy"].get<double>() - a["dense"]["accuracy"].get<double>()) * 100;
}

}  // namespace

std::string analysis_markdown(const json& a) {
  const bool perplexity = by_perplexity(a);
  std::ostringstream out;
  out << "# compress analyze of " << a["model"].get<std::string>() << "\n\n"
      << (perplexity ? fmt::format("Held-out slice: the first {} tokens of {}'s validation part. Dense: perplexity {:.3f}, "
                                   "loss {:.4f}.\n",
                                   a["items"].get<int64_t>(), a["data"].get<std::string>(),
                                   a["dense"]["perplexity"].get<double>(), a["dense"]["loss"].get<double>())
                     : fmt::format("Held-out slice: the first {} test items of {}. Dense: accuracy {:.2f} %, loss {:.4f}.\n",
                                   a["items"].get<int64_t>(), a["data"].get<std::string>(),
                                   a["dense"]["accuracy"].get<double>() * 100, a["dense"]["loss"].get<double>()))
      << fmt::format("Engine: {} tokens per GEMM, {} threads, {} kernels", a["tokens"].get<int64_t>(),
                     a["threads"].get<int64_t>(), a["isa"].get<std::string>());
  if (a.contains("machine") && a["machine"].is_object() && a["machine"]["cpu"].is_string())
    out << " on " << a["machine"]["cpu"].get<std::string>() << " (family " << a["machine"]["cpu_family"].dump() << ", model "
        << a["machine"]["cpu_model"].dump() << ")";
  out << ".\n\n## Sensitivity\n\nEach layer pruned alone, one-shot by magnitude. Each cell: "
      << (perplexity ? "perplexity (change from dense in %)" : "accuracy % (change from dense in points)") << " · loss.\n\n";
  for (const auto& mask : a["masks"]) {
    const auto sparsities = sorted_sparsities(a["sensitivity"], mask);
    out << "| layer | mask |";
    for (const double s : sparsities) out << fmt::format(" {:g} % |", s * 100);
    out << "\n|---|---|";
    for (size_t i = 0; i < sparsities.size(); ++i) out << "--:|";
    out << "\n";
    for (const auto& layer : a["layers"]) {
      out << "| " << layer["name"].get<std::string>() << " | " << mask.get<std::string>() << " |";
      for (const double s : sparsities) {
        const auto it = std::find_if(a["sensitivity"].begin(), a["sensitivity"].end(), [&](const json& p) {
          return p["layer"] == layer["name"] && p["mask"] == mask && p["sparsity"].get<double>() == s;
        });
        if (it == a["sensitivity"].end()) {
          out << " |";
          continue;
        }
        const double value = perplexity ? (*it)["perplexity"].get<double>() : (*it)["accuracy"].get<double>() * 100;
        out << fmt::format(perplexity ? " {:.3f} ({:+.2f} %) · {:.4f} |" : " {:.2f} ({:+.2f}) · {:.4f} |", value, change(a, *it),
                           (*it)["loss"].get<double>());
      }
      out << "\n";
    }
    out << "\n";
  }
  out << "## Engine time per layer shape\n\nOne call of the layer's GEMM over the tokens above. Each sparsity's cell: "
         "the sparse INT8 kernel's time · its speed-up over dense FP32.\n\n";
  for (const auto& mask : a["masks"]) {
    const auto sparsities = sorted_sparsities(a["timing"], mask);
    out << "| shape (out × in) | layers | mask | dense FP32 | dense INT8 |";
    for (const double s : sparsities) out << fmt::format(" {:g} % |", s * 100);
    out << "\n|---|--:|---|--:|--:|";
    for (size_t i = 0; i < sparsities.size(); ++i) out << "--:|";
    out << "\n";
    std::map<std::string, std::vector<const json*>> by_shape;
    std::vector<std::string> order;
    for (const auto& p : a["timing"])
      if (p["mask"] == mask) {
        if (!by_shape.count(shape_text(p))) order.push_back(shape_text(p));
        by_shape[shape_text(p)].push_back(&p);
      }
    for (const auto& shape : order) {
      const json& first = *by_shape[shape].front();
      out << "| " << shape << " | " << first["layers"].size() << " | " << mask.get<std::string>() << " | "
          << micros(first["dense_fp32_s"].get<double>()) << " | " << micros(first["dense_int8_s"].get<double>()) << " |";
      for (const double s : sparsities) {
        const auto& points = by_shape[shape];
        const auto it = std::find_if(points.begin(), points.end(), [&](const json* p) { return (*p)["sparsity"].get<double>() == s; });
        if (it == points.end()) {
          out << " |";
          continue;
        }
        const double t = (**it)["sparse_int8_s"].get<double>();
        out << " " << micros(t) << fmt::format(" · {:.2f}×", first["dense_fp32_s"].get<double>() / t) << " |";
      }
      out << "\n";
    }
    out << "\n";
  }
  out << fmt::format("{} measurements made, {} read from the cache; {:.0f} s.\n", a["measured"].get<int64_t>(),
                     a["cached"].get<int64_t>(), a["wall_seconds"].get<double>());
  return out.str();
}

std::string sensitivity_svg(const json& a, const std::string& mask) {
  const bool perplexity = by_perplexity(a);
  svg::LinePlot plot;
  plot.title = (perplexity ? "Perplexity change with one layer pruned (" : "Accuracy change with one layer pruned (") + mask + ")";
  std::vector<double> xs, ys = {0};
  for (const auto& layer : a["layers"]) {
    svg::Series s;
    s.name = layer["name"].get<std::string>();
    s.markers = true;
    for (const auto& p : a["sensitivity"])
      if (p["layer"] == layer["name"] && p["mask"] == mask) {
        s.x.push_back(p["sparsity"].get<double>() * 100);
        s.y.push_back(change(a, p));
      }
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    plot.series.push_back(std::move(s));
  }
  const auto [x_lo, x_hi] = std::minmax_element(xs.begin(), xs.end());
  const auto [y_lo, y_hi] = std::minmax_element(ys.begin(), ys.end());
  plot.x = svg::nice_axis("sparsity of the layer (%)", xs.empty() ? 0 : *x_lo, xs.empty() ? 100 : *x_hi);
  plot.y = svg::nice_axis(perplexity ? "perplexity change (%)" : "accuracy change (points)", *y_lo, *y_hi);
  plot.width = 1000;
  plot.legend_width = 380;
  plot.height = height_for(plot.series.size());
  return svg::line_plot(plot);
}

std::string timing_svg(const json& a, const std::string& mask) {
  svg::LinePlot plot;
  plot.title = fmt::format("Sparse INT8 kernel time per layer shape ({}, {} tokens)", mask, a["tokens"].get<int64_t>());
  std::vector<double> xs, ys = {0};
  std::map<std::string, size_t> index;
  for (const auto& p : a["timing"]) {
    if (p["mask"] != mask) continue;
    const std::string shape = shape_text(p);
    if (!index.count(shape)) {
      index[shape] = plot.series.size();
      svg::Series s;
      s.name = fmt::format("{} (dense FP32 {}, INT8 {})", shape, micros(p["dense_fp32_s"].get<double>()),
                           micros(p["dense_int8_s"].get<double>()));
      s.markers = true;
      plot.series.push_back(std::move(s));
    }
    svg::Series& s = plot.series[index[shape]];
    s.x.push_back(p["sparsity"].get<double>() * 100);
    s.y.push_back(p["sparse_int8_s"].get<double>() * 1e6);
    xs.push_back(s.x.back());
    ys.push_back(s.y.back());
  }
  const auto [x_lo, x_hi] = std::minmax_element(xs.begin(), xs.end());
  plot.x = svg::nice_axis("sparsity (%)", xs.empty() ? 0 : *x_lo, xs.empty() ? 100 : *x_hi);
  plot.y = svg::nice_axis("time per call (µs)", 0, *std::max_element(ys.begin(), ys.end()));
  plot.width = 1000;
  plot.legend_width = 380;
  plot.height = height_for(plot.series.size());
  return svg::line_plot(plot);
}

}  // namespace sparrow::pipeline
