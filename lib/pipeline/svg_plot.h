// SVG plots for Sparrow's reports (report.html, the sweep's plot, the analysis): line plots with axes, ticks,
// grid and legend, horizontal bar charts, and text escaped for XML and HTML. Plain strings out of plain data,
// no script, so the files read offline and tests check the elements and their coordinates.
#pragma once

#include <string>
#include <vector>

namespace sparrow::pipeline::svg {

// Text for XML or HTML content and attribute values: & < > " ' escaped.
std::string escape(const std::string& text);

struct Axis {
  std::string label;
  double min = 0, max = 1;  // min < max
  int ticks = 5;            // intervals between labelled ticks
  std::string unit;         // appended to each tick's number ("×", " %")
};

// An axis holding [lo, hi] with bounds on whole steps of 1, 2 or 5 × 10^k, about `ticks` of them.
Axis nice_axis(std::string label, double lo, double hi, int ticks = 5, std::string unit = "");

struct Series {
  std::string name;          // the legend's text
  std::vector<double> x, y;  // drawn in this order; a pair with a non-finite value is left out
  std::vector<std::string> titles;  // optional: each point's tooltip (then a circle marks every point)
  bool markers = false;      // circles at the points even without titles
};

struct LinePlot {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  double width = 720, height = 440;
  double legend_width = 200;  // room right of the plot for the legend; 0: no legend
};

// One polyline per series, colours in a fixed order; the plot area runs from x = 70 over
// width - 70 - legend_width px and from y = 40 over height - 100 px, the legend to its right.
std::string line_plot(const LinePlot& plot);

struct BarChart {
  std::string title;
  Axis value;                        // the horizontal axis
  std::vector<std::string> labels;   // one bar per label, top to bottom
  std::vector<double> values;        // a non-finite value draws no bar and prints "–"
  double width = 720;
  double label_width = 300;          // room left of the bars for the labels
  double bar_height = 16;
};

// Horizontal bars, each with its label on the left and its value at its end.
std::string bar_chart(const BarChart& chart);

}  // namespace sparrow::pipeline::svg
