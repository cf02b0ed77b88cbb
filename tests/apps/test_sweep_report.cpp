// The sweep's table and plot from fixed points.
#include <catch2/catch.hpp>

#include <regex>

#include "pipeline/sweep_report.h"

using sparrow::pipeline::SweepPoint;

namespace {

SweepPoint point(const std::string& name, const std::string& mask, double sparsity, bool int8, double trainer,
                 double engine, double speedup) {
  SweepPoint p;
  p.name = name;
  p.mask = mask;
  p.sparsity = sparsity;
  p.int8 = int8;
  p.done = true;
  p.trainer_accuracy = trainer;
  p.engine_accuracy = engine;
  p.speedup = speedup;
  p.model_bytes = 1000;
  p.measured_sparsity = sparsity;
  p.wall_seconds = 12;
  return p;
}

std::vector<SweepPoint> fixed_points() {
  SweepPoint failed;
  failed.name = "4x4_s0.95_int8";
  failed.mask = "[4,4]";
  failed.sparsity = 0.95;
  failed.error = "boom";
  return {point("block4_s0.9_int8", "block4", 0.9, true, 0.88, 0.8795, 4.5),
          point("block4_s0.95_int8", "block4", 0.95, true, 0.86, 0.861, 6.25),
          point("4x4_s0.9_int8", "[4,4]", 0.9, true, 0.87, 0.87, 7),
          failed,
          point("2of4_s0.5_noqat", "2:4", 0.5, false, 0.9, 0.86, 2)};
}

}  // namespace

TEST_CASE("sweep.md: rows mask x INT8, columns sparsity, accuracies and speed-up per cell", "[sweep]") {
  const std::string md = sparrow::pipeline::sweep_markdown("r.yaml", fixed_points());
  CHECK_THAT(md, Catch::StartsWith("# compress sweep of r.yaml\n"));
  CHECK_THAT(md, Catch::Contains("| mask | INT8 | 50 % | 90 % | 95 % |\n"
                                 "|---|---|--:|--:|--:|\n"
                                 "| block4 | on | | 88.00 / 87.95 · 4.50× | 86.00 / 86.10 · 6.25× |\n"
                                 "| [4,4] | on | | 87.00 / 87.00 · 7.00× | failed |\n"
                                 "| 2:4 | off | 90.00 / 86.00 · 2.00× | | |\n"));
  CHECK_THAT(md, Catch::Contains("| block4_s0.9_int8 | block4 | on | 0.9 | 0.9000 | 88.00 | – | 87.95 | – | 4.50× | 1000 | 12 |\n"));
  CHECK_THAT(md, Catch::Contains("| 4x4_s0.95_int8 | [4,4] | on | 0.95 | failed: boom ||||||||\n"));
  // A causal LM's point: its validation perplexity where a classifier's accuracies go.
  auto lm = point("2of4_s0.5_int8", "2:4", 0.5, true, 0, 0, 1.5);
  lm.trainer_accuracy.reset();
  lm.engine_accuracy.reset();
  lm.trainer_perplexity = 203.4931;
  lm.engine_perplexity = 203.61;
  const std::string lm_md = sparrow::pipeline::sweep_markdown("r.yaml", {lm});
  CHECK_THAT(lm_md, Catch::Contains("| 2:4 | on | ppl 203.49 / 203.61 · 1.50× |\n"));
  CHECK_THAT(lm_md, Catch::Contains("| 2of4_s0.5_int8 | 2:4 | on | 0.5 | 0.5000 | – | 203.49 | – | 203.61 | 1.50× | 1000 | 12 |\n"));
  // Its plot is perplexity against decoding's speed-up.
  const std::string lm_svg = sparrow::pipeline::sweep_svg({lm});
  CHECK_THAT(lm_svg, Catch::Contains("Engine perplexity against speed-up") && Catch::Contains("engine perplexity (validation)"));
  CHECK_THAT(lm_svg, Catch::Contains("2:4, INT8 (QAT)"));
}

TEST_CASE("sweep.svg: one polyline per mask and INT8 setting, points by sparsity, axes and legend", "[sweep]") {
  const std::string svg = sparrow::pipeline::sweep_svg(fixed_points());
  CHECK_THAT(svg, Catch::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"") && Catch::EndsWith("</svg>\n"));
  const std::regex polyline("<polyline[^>]*points=\"([^\"]*)\"");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline); it != std::sregex_iterator(); ++it)
    lines.push_back((*it)[1]);
  // block4 (2 points), [4,4] (its finished point), 2:4 without QAT; the failed point is not drawn.
  REQUIRE(lines.size() == 3u);
  // The plot spans 0..7x over 450 px from x = 70, and 85..90 % over 340 px from y = 40 (the top is 90 %).
  CHECK(lines[0] == "359.3,179.4 471.8,305.2 ");
  CHECK(lines[1] == "520.0,244.0 ");
  CHECK(lines[2] == "198.6,312.0 ");
  CHECK_THAT(svg, Catch::Contains(">block4, INT8 (QAT)</text>") && Catch::Contains(">[4,4], INT8 (QAT)</text>") &&
                      Catch::Contains(">2:4, no QAT</text>"));
  CHECK_THAT(svg, Catch::Contains("engine speed-up vs dense FP32 LibTorch (×)") && Catch::Contains("engine accuracy (%)"));
  CHECK(svg.find("4x4_s0.95_int8") == std::string::npos);
}

TEST_CASE("sweep.json: every point with its figures, null where unmeasured, the error of a failed one", "[sweep]") {
  auto points = fixed_points();
  points[0].speedup.reset();
  const auto j = sparrow::pipeline::sweep_json("r.yaml", points);
  CHECK(j["sweep_version"] == 1);
  CHECK(j["recipe"] == "r.yaml");
  REQUIRE(j["points"].size() == 5u);
  CHECK(j["points"][0]["speedup"].is_null());
  CHECK(j["points"][1]["speedup"] == 6.25);
  CHECK(j["points"][1]["engine_accuracy"] == 0.861);
  CHECK(j["points"][3]["status"] == "failed");
  CHECK(j["points"][3]["error"] == "boom");
  CHECK(j["points"][4]["int8"] == false);

  SweepPoint read;
  sparrow::pipeline::read_point_report(read, {{"compressed", {{"accuracy", 0.8}, {"sparsity", 0.9}}},
                                          {"engine", nullptr},
                                          {"export", {{"bytes", 4096}}},
                                          {"wall_seconds", 3.5}});
  CHECK(read.trainer_accuracy == 0.8);
  CHECK(read.measured_sparsity == 0.9);
  CHECK(!read.engine_accuracy);
  CHECK(!read.speedup);
  CHECK(read.model_bytes == 4096);
  CHECK(read.wall_seconds == 3.5);
}

TEST_CASE("sweep.html: the grid and points tables and the plot on one page, text escaped", "[sweep]") {
  auto points = fixed_points();
  points[3].error = "<boom> & \"more\"";
  const std::string html = sparrow::pipeline::sweep_html("r<1>.yaml", points);
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>\n") && Catch::EndsWith("</html>\n"));
  CHECK(html.find("<script") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("<title>compress sweep of r&lt;1&gt;.yaml</title>"));
  for (const char* id : {"grid", "plot", "points"})
    CHECK_THAT(html, Catch::Contains(std::string("<section id=\"") + id + "\">"));
  // The page's plot is sweep.svg itself.
  CHECK_THAT(html, Catch::Contains(sparrow::pipeline::sweep_svg(points)));
  // Grid: one row per mask and INT8 setting, a cell per sparsity (50, 90, 95 %), empty where no point ran.
  CHECK_THAT(html, Catch::Contains("<tr><th>mask</th><th>INT8</th><th>50 %</th><th>90 %</th><th>95 %</th></tr>"));
  CHECK_THAT(html, Catch::Contains("<tr><th scope=\"row\">block4</th><td>on</td><td></td><td>88.00 / 87.95 · 4.50×</td>"
                                   "<td>86.00 / 86.10 · 6.25×</td></tr>"));
  CHECK_THAT(html, Catch::Contains("<tr><th scope=\"row\">[4,4]</th><td>on</td><td></td><td>87.00 / 87.00 · 7.00×</td>"
                                   "<td>failed</td></tr>"));
  CHECK_THAT(html, Catch::Contains("<tr><th scope=\"row\">block4_s0.9_int8</th><td>block4</td><td>on</td><td>0.9</td>"
                                   "<td>0.9000</td><td>88.00</td><td>–</td><td>87.95</td><td>–</td><td>4.50×</td><td>1000</td><td>12</td></tr>"));
  CHECK_THAT(html, Catch::Contains("<td>failed: &lt;boom&gt; &amp; &quot;more&quot;</td></tr>"));
}
