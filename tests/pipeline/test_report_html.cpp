// report.html and its parts from fixed data: the SVG plots put each value where its axes say, the mask
// picture shades tiles by the fraction kept, text from the recipe is escaped, and the page is well-formed XML.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <regex>

#include "core/files.h"
#include "models/safetensors.h"
#include "pipeline/mask_picture.h"
#include "pipeline/report_html.h"
#include "pipeline/svg_plot.h"
#include "support/run_command.h"
#include "support/skip.h"

using namespace sparrow;
using namespace sparrow::pipeline;
using nlohmann::json;

namespace {

std::vector<std::string> matches(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(it->size() > 1 ? (*it)[1].str() : (*it)[0].str());
  return out;
}

// Every <svg>…</svg> of a page.
std::vector<std::string> svgs(const std::string& page) {
  std::vector<std::string> out;
  for (size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1))
    out.push_back(page.substr(at, page.find("</svg>", at) + 6 - at));
  return out;
}

std::string svg_titled(const std::string& page, const std::string& title) {
  for (const auto& s : svgs(page))
    if (s.find(">" + title + "</text>") != std::string::npos) return s;
  FAIL("no plot titled " << title);
  return "";
}

const char* kRecipe = "# tuned <by hand> & 'checked'\nmodel: {name: cnn}\n# </pre><script>alert(\"x\")</script>\n";

// A classifier's report.json as docs/report.md describes it: three epochs, two layers, an engine check, gates.
json fixed_report() {
  return {{"report_version", 1},
          {"sparrow_version", "0.1.0"},
          {"recipe", "recipes/<odd> & name.yaml"},
          {"recipe_sha256", "abc"},
          {"seed", 0},
          {"task", "classification"},
          {"model", {{"name", "cnn"}}},
          {"dataset", {{"name", "fashion_mnist"}, {"train_items", 3000}, {"test_items", 1000}}},
          {"epochs",
           {{{"epoch", 1.0}, {"loss", 2.0}, {"accuracy", 0.5}, {"lr", 0.05}, {"sparsity", 0.0}},
            {{"epoch", 2.0}, {"loss", 1.0}, {"accuracy", 0.7}, {"lr", 0.05}, {"sparsity", 0.45}},
            {{"epoch", 3.0}, {"loss", 0.5}, {"accuracy", 0.8}, {"lr", 0.05}, {"sparsity", 0.9}}}},
          {"layers",
           {{{"name", "conv2.weight"}, {"shape", {16, 8, 3, 3}}, {"sparsity", 0.25}, {"mask", "block4"}, {"quantized", false}},
            {{"name", "fc1.weight"}, {"shape", {64, 784}}, {"sparsity", 0.75}, {"mask", "block4"}, {"quantized", false}}}},
          {"dense", {{"accuracy", 0.9}}},
          {"compressed", {{"accuracy", 0.8}, {"sparsity", 0.74}, {"quantized", false}}},
          {"engine",
           {{"accuracy", 0.79}, {"threads", 2}, {"batch", 32}, {"isa", "avx512vnni"}, {"speedup", 4.0},
            {"items_per_second", 4000.0}, {"baseline_items_per_second", 1000.0}, {"reliable", true}}},
          {"gates",
           {{{"name", "min_accuracy"}, {"threshold", 0.85}, {"value", 0.8}, {"passed", false}},
            {{"name", "min_sparsity"}, {"threshold", 0.7}, {"value", 0.74}, {"passed", true}}}},
          {"machine", {{"cpu", "AMD EPYC"}, {"cpu_family", 25}, {"cpu_model", 17}, {"cpus", 2}, {"os", "Linux 6.1"}}},
          {"wall_seconds", 12.5}};
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_report_html_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("svg axes: bounds on whole steps of 1, 2 or 5 x 10^k around the data", "[report_html]") {
  const auto a = svg::nice_axis("a", 0, 0.87);
  CHECK(a.min == 0);
  CHECK(a.max == Approx(1.0));
  CHECK(a.ticks == 5);
  const auto b = svg::nice_axis("b", 0.5, 2.0);  // steps of 0.5
  CHECK(b.min == Approx(0.5));
  CHECK(b.max == Approx(2.0));
  CHECK(b.ticks == 3);
  const auto c = svg::nice_axis("c", 0, 3);  // steps of 1
  CHECK(c.max == Approx(3));
  CHECK(c.ticks == 3);
  const auto one = svg::nice_axis("one value", 4, 4);  // a range around it
  CHECK(one.min < 4);
  CHECK(one.max > 4);
}

TEST_CASE("svg line plot: each point at its coordinates, ticks, legend, non-finite points left out", "[report_html]") {
  svg::LinePlot p;
  p.title = "T <1>";
  p.x = {"x axis", 0, 10, 5, "×"};
  p.y = {"y axis", 0, 100, 4, ""};
  p.series.push_back({"first & only", {0, 5, 7, 10}, {0, 50, NAN, 100}, {}, true});
  const std::string s = svg::line_plot(p);
  // 720 × 440: the plot area is x 70..520 (450 px) and y 40..380 (340 px).
  CHECK(matches(s, "<polyline[^>]*points=\"([^\"]*)\"") == std::vector<std::string>{"70.0,380.0 295.0,210.0 520.0,40.0 "});
  CHECK(matches(s, "<circle").size() == 3u);
  CHECK(matches(s, ">([^<]*×)</text>") == std::vector<std::string>{"0×", "2×", "4×", "6×", "8×", "10×"});
  CHECK(matches(s, "text-anchor=\"end\">([^<]*)</text>") == std::vector<std::string>{"0", "25", "50", "75", "100"});
  CHECK_THAT(s, Catch::Contains(">T &lt;1&gt;</text>") && Catch::Contains(">first &amp; only</text>"));
}

TEST_CASE("svg bar chart: bar lengths from the axis, value labels, no bar for a missing value", "[report_html]") {
  svg::BarChart c;
  c.title = "bars";
  c.value = {"v", 0, 100, 5, ""};
  c.labels = {"half", "missing", "all"};
  c.values = {50, NAN, 100};
  const std::string s = svg::bar_chart(c);
  // 720 wide, labels take 300 px and values 70: bars span 350 px from x = 300.
  CHECK(matches(s, "<rect x=\"300.0\" y=\"[^\"]*\" width=\"([^\"]*)\"") == std::vector<std::string>{"175.0", "350.0"});
  CHECK_THAT(s, Catch::Contains(">half</text>") && Catch::Contains(">50</text>") && Catch::Contains(">–</text>"));
}

TEST_CASE("mask picture: the overview shades each tile by the fraction kept, the corner shows each weight", "[report_html]") {
  LayerMask small{"w", "block4", 8, 16, std::vector<uint8_t>(8 * 16, 0)};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) small.kept[r * 16 + c] = 1;  // one 1x4 block in each of the first 4 rows
  CHECK(overview_tile(8, 16) == 1);
  const std::string s = mask_svg(small);
  const auto overview = s.substr(s.find("<g class=\"overview\""), s.find("<g class=\"detail\"") - s.find("<g class=\"overview\""));
  const auto detail = s.substr(s.find("<g class=\"detail\""));
  // 16 tiles across 512 px: 32 px each; a row's 4 kept weights are one black rect 128 px wide.
  CHECK(matches(overview, "<rect x=\"40.0\" y=\"([^\"]*)\" width=\"128.0\" height=\"32.0\" fill=\"#000000\"") ==
        std::vector<std::string>{"50.0", "82.0", "114.0", "146.0"});
  // The corner below the overview (256 px tall, from y = 50) at 4 px per weight: rows 0..3 from y = 366.
  CHECK(matches(detail, "<rect x=\"40.0\" y=\"([^\"]*)\" width=\"16.0\" height=\"4.0\" fill=\"#000000\"") ==
        std::vector<std::string>{"366.0", "370.0", "374.0", "378.0"});

  // 768 x 3072: tiles of 24 x 24 weights, 32 x 128 of them; every other column kept on the left half.
  LayerMask ffn{"ffn", "unstructured", 768, 3072, std::vector<uint8_t>(768 * 3072, 0)};
  for (int r = 0; r < 768; ++r)
    for (int c = 0; c < 1536; c += 2) ffn.kept[static_cast<size_t>(r) * 3072 + c] = 1;
  CHECK(overview_tile(768, 3072) == 24);
  const std::string big = mask_svg(ffn);
  const auto big_overview = big.substr(0, big.find("<g class=\"detail\""));
  // Half kept: grey 128 (255 - 5 * 255 / 10), one rect per row of tiles over the left 64 tiles of 4 px.
  const auto grey = matches(big_overview, "<rect x=\"40.0\" y=\"[^\"]*\" width=\"256.0\" height=\"4.0\" fill=\"(#[0-9a-f]+)\"");
  CHECK(grey.size() == 32u);
  CHECK(std::all_of(grey.begin(), grey.end(), [](const std::string& g) { return g == "#808080"; }));
  CHECK(big.size() < 400000u);  // a page, not a dump
}

TEST_CASE("mask picture: the largest pruned layer, read from the checkpoint's safetensors", "[report_html]") {
  const fs::path dir = scratch_dir("mask");
  std::vector<float> w(4 * 8, 0.f), other(16 * 16, 1.f);
  w[0] = 1.f;
  w[9] = -2.f;
  const auto bytes = [](const std::vector<float>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  };
  write_file_atomic(dir / "model.safetensors",
                    models::serialize_safetensors({{"fc.weight", models::SafeDType::F32, {4, 8}, bytes(w)},
                                                   {"dense.weight", models::SafeDType::F32, {16, 16}, bytes(other)}},
                                                  {}));
  json report = {{"layers",
                  {{{"name", "dense.weight"}, {"shape", {16, 16}}, {"mask", "none"}},  // larger, but not pruned
                   {{"name", "fc.weight"}, {"shape", {4, 8}}, {"mask", "2:4"}}}}};
  const auto mask = read_layer_mask(report, dir);
  REQUIRE(mask);
  CHECK(mask->name == "fc.weight");
  CHECK(mask->kind == "2:4");
  CHECK(mask->rows == 4);
  CHECK(mask->cols == 8);
  std::vector<uint8_t> expected(32, 0);
  expected[0] = expected[9] = 1;
  CHECK(mask->kept == expected);
  report["layers"][1]["mask"] = "none";
  CHECK(!read_layer_mask(report, dir));
  CHECK(!read_layer_mask(fixed_report(), dir / "absent"));
  fs::remove_all(dir);
}

TEST_CASE("report.html: every part, values where the numbers say, the recipe escaped", "[report_html]") {
  const std::string page = report_html(fixed_report(), kRecipe, std::nullopt);
  CHECK_THAT(page, Catch::StartsWith("<!DOCTYPE html>\n<html"));
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("http://") == page.find("http://www.w3.org/"));  // nothing fetched: namespaces only
  CHECK_THAT(page, Catch::Contains("&lt;/pre&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") &&
                       Catch::Contains("# tuned &lt;by hand&gt; &amp; &#39;checked&#39;"));
  CHECK_THAT(page, Catch::Contains("<title>Sparrow run: recipes/&lt;odd&gt; &amp; name.yaml</title>"));
  for (const char* id : {"run", "outcome", "epochs", "layers", "gates", "recipe", "machine"})
    CHECK_THAT(page, Catch::Contains(std::string("<section id=\"") + id + "\">"));
  CHECK(svgs(page).size() == 7u);  // 2 outcome bar charts, 4 epoch plots, per-layer sparsity (no mask given)

  // Epochs 1..3 on 0..3 over 430 px from x = 70; loss 0.5..2 over 200 px from y = 40.
  const auto loss = svg_titled(page, "Training loss");
  CHECK(matches(loss, "<polyline[^>]*points=\"([^\"]*)\"") == std::vector<std::string>{"213.3,40.0 356.7,173.3 500.0,240.0 "});
  const auto accuracy = svg_titled(page, "Test accuracy");  // 50..80 % on 50..80
  CHECK(matches(accuracy, "<polyline[^>]*points=\"([^\"]*)\"") == std::vector<std::string>{"213.3,240.0 356.7,106.7 500.0,40.0 "});
  const auto sparsity = svg_titled(page, "Sparsity");  // 0..90 % on 0..100
  CHECK(matches(sparsity, "<polyline[^>]*points=\"([^\"]*)\"") == std::vector<std::string>{"213.3,240.0 356.7,150.0 500.0,60.0 "});

  // Per layer: 0..100 % over 430 px (900 - 400 - 70) from x = 400.
  const auto layers = svg_titled(page, "Sparsity per layer");
  CHECK(matches(layers, "<rect x=\"400.0\" y=\"[^\"]*\" width=\"([^\"]*)\"") == std::vector<std::string>{"107.5", "322.5"});
  // Accuracy bars 90, 80, 79 % over 300 px (540 - 170 - 70); items per second 1000 and 4000 on 0..4000.
  CHECK(matches(svg_titled(page, "Accuracy"), "<rect x=\"170.0\" y=\"[^\"]*\" width=\"([^\"]*)\"") ==
        std::vector<std::string>{"270.0", "240.0", "237.0"});
  CHECK(matches(svg_titled(page, "Items per second"), "<rect x=\"170.0\" y=\"[^\"]*\" width=\"([^\"]*)\"") ==
        std::vector<std::string>{"75.0", "300.0"});

  CHECK_THAT(page, Catch::Contains("<th scope=\"row\">min_accuracy</th><td>0.85</td><td>0.8</td><td>FAILED</td>") &&
                       Catch::Contains("<th scope=\"row\">min_sparsity</th><td>0.7</td><td>0.74</td><td>passed</td>"));
  CHECK_THAT(page, Catch::Contains("<td>AMD EPYC (family 25, model 17)</td>") && Catch::Contains("<td>avx512vnni</td>"));
  CHECK_THAT(page, Catch::Contains("<b>4.00×</b>"));
}

TEST_CASE("report.html: a causal LM's perplexities, a one-shot run without epochs, an unmeasured engine", "[report_html]") {
  json lm = fixed_report();
  lm["task"] = "causal_lm";
  lm["epochs"] = {{{"epoch", 1.0}, {"loss", 3.0}, {"validation_loss", 2.0}, {"validation_perplexity", 7.389}, {"lr", 0.001},
                   {"sparsity", 0.5}}};
  lm["dense"] = {{"perplexity", 7.0}};
  lm["compressed"] = {{"perplexity", 7.389}, {"sparsity", 0.5}, {"quantized", false}};
  lm["engine"] = nullptr;
  lm["gates"] = json::array();
  const std::string page = report_html(lm, "", std::nullopt);
  CHECK_THAT(page, Catch::Contains(">Validation perplexity</text>") && Catch::Contains(">Perplexity (lower is better)</text>"));
  CHECK_THAT(page, !Catch::Contains(">Test accuracy</text>") && !Catch::Contains(">Items per second</text>"));
  CHECK_THAT(page, Catch::Contains("No engine check in this run") && Catch::Contains("The recipe sets no gates.") &&
                       Catch::Contains("No recipe.resolved.yaml beside the report."));

  json one_shot = fixed_report();
  one_shot["epochs"] = json::array();
  CHECK_THAT(report_html(one_shot, kRecipe, std::nullopt), Catch::Contains("No epochs: a one-shot recipe"));
  // A report missing everything still gives a page.
  CHECK_THAT(report_html(json::object(), "", std::nullopt), Catch::Contains("</html>"));
}

TEST_CASE("report.html is well-formed XML (xmllint)", "[report_html]") {
  if (testing::run_command("command -v xmllint").exit_code != 0) {
    testing::skip("xmllint is missing (Debian's libxml2-utils, third_party/setup.sh)");
    return;
  }
  const fs::path dir = scratch_dir("xml");
  LayerMask mask{"fc1.weight", "[4,4]", 64, 784, std::vector<uint8_t>(64 * 784, 1)};
  write_file_atomic(dir / "report.html", report_html(fixed_report(), kRecipe, mask));
  const auto r = testing::run_command("xmllint --noout " + (dir / "report.html").string());
  CHECK(r.output == "");
  CHECK(r.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("write_report_html: from a run folder's files, atomically, and bad input without report.json", "[report_html]") {
  const fs::path dir = scratch_dir("folder");
  CHECK_THROWS_WITH(write_report_html(dir), Catch::Contains("report.json: cannot open"));
  write_file_atomic(dir / "report.json", "[1, 2]");
  CHECK_THROWS_WITH(write_report_html(dir), Catch::Contains("report.json: not a JSON object"));
  CHECK(!fs::exists(dir / "report.html"));
  write_file_atomic(dir / "report.json", fixed_report().dump());
  write_file_atomic(dir / "recipe.resolved.yaml", kRecipe);
  write_report_html(dir);
  const std::string page = read_file(dir / "report.html");
  CHECK_THAT(page, Catch::Contains("# tuned &lt;by hand&gt;"));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 3);  // no temporary left
  fs::remove_all(dir);
}
