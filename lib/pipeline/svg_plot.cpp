#include "pipeline/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>

namespace sparrow::pipeline::svg {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
constexpr double kLeft = 70, kTop = 40, kBottom = 60;

std::string open_svg(double width, double height) {
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                     "font-family=\"sans-serif\" font-size=\"12\">\n"
                     "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
                     width, height);
}

std::string title_text(const std::string& title, double x) {
  return fmt::format("<text x=\"{:.1f}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", x, escape(title));
}

// A tick's number: no float noise such as 0.30000000000000004.
std::string tick_text(double v, const std::string& unit) {
  if (std::abs(v) < 1e-12) v = 0;
  return fmt::format("{:.6g}", v) + unit;
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Axis nice_axis(std::string label, double lo, double hi, int ticks, std::string unit) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-12) {  // one value: a range around it
    const double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / ticks;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw * (1 - 1e-9)) {
      step = m * magnitude;
      break;
    }
  Axis a{std::move(label), std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, 0, std::move(unit)};
  a.ticks = std::max(1, static_cast<int>(std::lround((a.max - a.min) / step)));
  return a;
}

std::string line_plot(const LinePlot& plot) {
  const double plot_w = plot.width - kLeft - std::max(plot.legend_width, 20.0), plot_h = plot.height - kTop - kBottom;
  const Axis& ax = plot.x;
  const Axis& ay = plot.y;
  const auto x_at = [&](double v) { return kLeft + (v - ax.min) / (ax.max - ax.min) * plot_w; };
  const auto y_at = [&](double v) { return kTop + (ay.max - v) / (ay.max - ay.min) * plot_h; };

  std::ostringstream out;
  out << open_svg(plot.width, plot.height) << title_text(plot.title, kLeft + plot_w / 2);
  for (int i = 0; i <= ax.ticks; ++i) {
    const double v = ax.min + (ax.max - ax.min) * i / ax.ticks;
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x_at(v), kTop,
                       kTop + plot_h)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x_at(v), kTop + plot_h + 16,
                       escape(tick_text(v, ax.unit)));
  }
  for (int i = 0; i <= ay.ticks; ++i) {
    const double v = ay.min + (ay.max - ay.min) * i / ay.ticks;
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n", kLeft, y_at(v),
                       kLeft + plot_w)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6, y_at(v) + 4,
                       escape(tick_text(v, ay.unit)));
  }
  out << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"black\"/>\n", kLeft,
                     kTop, plot_w, plot_h)
      << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", kLeft + plot_w / 2,
                     plot.height - 18, escape(ax.label))
      << fmt::format("<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     kTop + plot_h / 2, escape(ay.label));
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const Series& series = plot.series[s];
    const char* color = kColors[s % std::size(kColors)];
    std::vector<size_t> drawn;
    for (size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i)
      if (std::isfinite(series.x[i]) && std::isfinite(series.y[i])) drawn.push_back(i);
    out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (const size_t i : drawn) out << fmt::format("{:.1f},{:.1f} ", x_at(series.x[i]), y_at(series.y[i]));
    out << "\"/>\n";
    if (series.markers || !series.titles.empty())
      for (const size_t i : drawn) {
        out << fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\">", x_at(series.x[i]), y_at(series.y[i]),
                           color);
        if (i < series.titles.size()) out << "<title>" << escape(series.titles[i]) << "</title>";
        out << "</circle>\n";
      }
    if (plot.legend_width <= 0) continue;
    const double ly = kTop + 10 + 20 * static_cast<double>(s);
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" stroke-width=\"2\"/>\n",
                       kLeft + plot_w + 15, ly, kLeft + plot_w + 40, color)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", kLeft + plot_w + 46, ly + 4, escape(series.name));
  }
  out << "</svg>\n";
  return out.str();
}

std::string bar_chart(const BarChart& chart) {
  constexpr double kTopRoom = 40, kBottomRoom = 44, kValueRoom = 70;
  const double bars_w = chart.width - chart.label_width - kValueRoom;
  const double height = kTopRoom + chart.bar_height * static_cast<double>(chart.labels.size()) + kBottomRoom;
  const Axis& a = chart.value;
  const auto x_at = [&](double v) { return chart.label_width + (std::clamp(v, a.min, a.max) - a.min) / (a.max - a.min) * bars_w; };
  const double bottom = height - kBottomRoom;

  std::ostringstream out;
  out << open_svg(chart.width, height) << title_text(chart.title, chart.label_width + bars_w / 2);
  for (int i = 0; i <= a.ticks; ++i) {
    const double v = a.min + (a.max - a.min) * i / a.ticks;
    out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x_at(v), kTopRoom,
                       bottom)
        << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x_at(v), bottom + 16,
                       escape(tick_text(v, a.unit)));
  }
  for (size_t i = 0; i < chart.labels.size(); ++i) {
    const double y = kTopRoom + chart.bar_height * static_cast<double>(i);
    const double v = i < chart.values.size() ? chart.values[i] : NAN;
    out << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", chart.label_width - 6,
                       y + chart.bar_height * 0.75, escape(chart.labels[i]));
    if (std::isfinite(v)) {
      const double x0 = x_at(std::max(a.min, 0.0)), x1 = x_at(v);
      out << fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}</title></rect>\n",
                         std::min(x0, x1), y + 2, std::abs(x1 - x0), chart.bar_height - 4, kColors[0],
                         escape(chart.labels[i] + ": " + tick_text(v, a.unit)));
    }
    out << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", (std::isfinite(v) ? x_at(v) : x_at(a.min)) + 4,
                       y + chart.bar_height * 0.75, std::isfinite(v) ? escape(fmt::format("{:.4g}", v) + a.unit) : "–");
  }
  out << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\"/>\n", x_at(a.min),
                     kTopRoom, bottom)
      << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", chart.label_width + bars_w / 2,
                     height - 10, escape(a.label))
      << "</svg>\n";
  return out.str();
}

}  // namespace sparrow::pipeline::svg
