// `compress check` and `compress schedule` as a user runs them: every recipe
// in tests/data/recipes/bad fails with exit 2 and its golden message; the
// example recipes pass; the schedule's sparsity follows the cubic formula.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recipe/recipe.h"
#include "support/skip.h"

namespace fs = std::filesystem;

namespace {

const fs::path kSource = SPARROW_SOURCE_DIR;
const fs::path kCompress = fs::path(SPARROW_BINARY_DIR) / "apps/compress/compress";

struct Run {
  int code;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs compress with `args` in `dir`, capturing stdout and stderr apart.
Run compress(const std::vector<std::string>& args, const fs::path& dir) {
  const fs::path tmp = fs::temp_directory_path() / ("sparrow_recipe_cli_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::string cmd = "cd " + quote(dir.string()) + " && " + quote(kCompress.string());
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  const int status = std::system(cmd.c_str());
  Run r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(tmp / "out"), slurp(tmp / "err")};
  fs::remove_all(tmp);
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("cli: every malformed recipe fails with exit 2 and its golden message", "[recipe][cli]") {
  const fs::path bad = kSource / "tests/data/recipes/bad";
  std::vector<fs::path> recipes;
  for (const auto& e : fs::directory_iterator(bad))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".md") recipes.push_back(e.path());
  std::sort(recipes.begin(), recipes.end());
  REQUIRE(recipes.size() >= 20);
  for (const auto& recipe : recipes) {
    const fs::path expected = fs::path(recipe).replace_extension(".expected");
    INFO(recipe.filename().string());
    REQUIRE(fs::exists(expected));
    std::vector<std::string> args = {"check", "--recipe", recipe.filename().string()};
    const fs::path extra = fs::path(recipe).replace_extension(".args");  // one extra argument per line
    if (fs::exists(extra))
      for (const auto& a : lines(slurp(extra))) args.push_back(a);
    const Run run = compress(args, bad);
    CHECK(run.code == 2);
    CHECK(run.err == "error: " + slurp(expected));
    CHECK(run.out.empty());
  }
}

TEST_CASE("cli: the SparseML-syntax recipes pass check", "[recipe][cli]") {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(kSource / "recipes/sparseml")) {
    if (e.path().extension() != ".yaml" && e.path().extension() != ".md") continue;
    INFO(e.path().string());
    const Run run = compress({"check", "--recipe", e.path().string()}, kSource);
    CHECK(run.code == 0);
    CHECK(run.out.find(": ok, ") != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("cli: check resolves params against a model", "[recipe][cli]") {
  const std::string recipe = "tests/data/recipes/cnn_check.yaml";
  const Run ok = compress({"check", "--recipe", recipe, "--model", "cnn"}, kSource);
  CHECK(ok.code == 0);
  CHECK(ok.out == recipe + ": ok, 3 modifiers over 3 epochs, params resolved against cnn\n"
                           "  training_modifiers.0  !EpochRangeModifier  " + recipe + ":20:5\n"
                           "  training_modifiers.1  !SetLearningRateModifier  " + recipe + ":22:5\n"
                           "  pruning_modifiers.0  !GMPruningModifier  " + recipe + ":27:5\n");
  const Run json = compress({"check", "--recipe", recipe, "--json"}, kSource);
  REQUIRE(json.code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["valid"] == true);
  CHECK(j["modifiers"].size() == 3);
  CHECK(j["modifiers"][2]["tag"] == "GMPruningModifier");
  CHECK(j["modifiers"][2]["location"] == recipe + ":27:5");
  CHECK(j["modifiers"][2]["path"] == "pruning_modifiers.0");  // what --set takes
  CHECK(compress({"check", "--recipe", "recipes/fashion_cnn90.yaml", "--model", "cnn"}, kSource).code == 0);
  const Run bad = compress({"check", "--recipe", recipe, "--model", "cnn", "--set",
                            "pruning_modifiers.0.params=[conv3.weight]"},
                           kSource);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("matches no parameter of the model; prunable parameters: conv1.weight conv2.weight fc1.weight") !=
        std::string::npos);
  // A block taller than a layer it prunes: refused with the layer's shape, before any training.
  const Run tall = compress({"check", "--recipe", recipe, "--model", "cnn", "--set", "pruning_modifiers.0.mask_type=[64,4]"},
                            kSource);
  CHECK(tall.code == 2);
  CHECK(tall.err.find(recipe + ":27:5: mask_type [64,4] does not fit conv2.weight, a 16 x 72 matrix (outputs x inputs): "
                      "its blocks are 64 x 4") != std::string::npos);
}

TEST_CASE("cli: the schedule follows the cubic formula to 1e-6", "[recipe][cli]") {
  size_t compared = 0;
  for (const auto& e : fs::directory_iterator(kSource / "recipes/sparseml")) {
    // Absolute, so that modifier locations name the same file in both.
    const std::string file = e.path().string();
    INFO(file);
    const Run run = compress({"schedule", "--recipe", file, "--json", "--step", "0.5"}, kSource);
    REQUIRE(run.code == 0);
    const auto j = nlohmann::json::parse(run.out);
    const sparrow::recipe::Recipe r = sparrow::recipe::load_recipe(file);
    for (size_t m = 0; m < j["pruning"].size(); ++m) {
      // The column's modifier, by its location and params in the recipe.
      const sparrow::recipe::GMPruningParams* p = nullptr;
      for (const auto& spec : r.modifiers) {
        const auto* gm = std::get_if<sparrow::recipe::GMPruningParams>(&spec.params);
        if (const auto* g = std::get_if<sparrow::recipe::GlobalMagnitudePruningParams>(&spec.params)) gm = g;
        if (gm && spec.location == j["pruning"][m]["location"] && nlohmann::json(gm->params) == j["pruning"][m]["params"])
          p = gm;
      }
      if (!p || p->inter_func != sparrow::recipe::InterFunc::Cubic) continue;
      for (const auto& row : j["rows"]) {
        const double t = row["epoch"];
        INFO("column " << m << ", epoch " << t);
        if (t < p->start_epoch) {
          CHECK(row["sparsity"][m].is_null());
          continue;
        }
        const double progress = std::min(1.0, (t - p->start_epoch) / (p->end_epoch - p->start_epoch));
        const double expected =
            p->final_sparsity + (p->init_sparsity - p->final_sparsity) * std::pow(1.0 - progress, 3.0);
        CHECK(std::fabs(row["sparsity"][m].get<double>() - expected) < 1e-6);
        ++compared;
      }
    }
  }
  CHECK(compared >= 200);
}

TEST_CASE("cli: overrides reach check and schedule", "[recipe][cli]") {
  const std::string file = "recipes/sparseml/bert_base_gmp90_block4_qat_distill.yaml";
  const Run run = compress({"schedule", "--recipe", file, "--json", "--set", "final_sparsity=0.95", "--recipe-args",
                            "{\"num_epochs\": 12}"},
                           kSource);
  REQUIRE(run.code == 0);
  const auto j = nlohmann::json::parse(run.out);
  CHECK(j["epochs"] == 12.0);
  CHECK(j["rows"].back()["sparsity"][0] == 0.95);
  const Run bad = compress({"check", "--recipe", file, "--set", "final_sparsty=0.95"}, kSource);
  CHECK(bad.code == 2);
  CHECK(bad.err == "error: --set final_sparsty=0.95: the recipe has no variable 'final_sparsty' (did you mean "
                   "'final_sparsity'?); a field needs its dotted path, e.g. train.batch_size\n");
  CHECK(compress({"check", "--recipe", "missing.yaml"}, kSource).code == 2);
}

TEST_CASE("cli: training applies overrides, saves what ran and fails on gates", "[recipe][cli][train]") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist"))
    return sparrow::testing::skip("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
  const fs::path out = fs::temp_directory_path() / ("sparrow_recipe_gates_" + std::to_string(::getpid()));
  const Run run = compress({"--recipe", "tests/data/recipes/cnn_check.yaml", "--out", out.string(), "-q", "--set",
                            "data.train_limit=256", "--set", "gates.min_accuracy=0.999", "--set", "gates.min_sparsity=0.5",
                            "--recipe-args", "{\"num_epochs\": 2}"},
                           kSource);
  CHECK(run.code == 1);
  // (After a warning, when the machine was too busy to measure the engine's speed-up.)
  CHECK(run.err.find("error: gate min_accuracy failed: threshold 0.999, measured ") != std::string::npos);
  const auto report = nlohmann::json::parse(slurp(out / "report.json"));
  REQUIRE(report["gates"].size() == 2);
  CHECK(report["gates"][0]["name"] == "min_accuracy");
  CHECK(report["gates"][0]["passed"] == false);
  CHECK(report["gates"][0]["value"] == report["compressed"]["accuracy"]);
  CHECK(report["gates"][1]["name"] == "min_sparsity");
  CHECK(report["gates"][1]["passed"] == true);
  // The resolved recipe is what ran: overrides applied, and it checks clean.
  const auto resolved = sparrow::recipe::load_recipe(out / "recipe.resolved.yaml");
  CHECK(resolved.data.train_limit == 256);
  CHECK(sparrow::recipe::planned_epochs(resolved) == 2.0);
  CHECK(std::get<sparrow::recipe::GMPruningParams>(resolved.modifiers.at(2).params).end_epoch == 1.5);
  CHECK(report["epochs"].size() == 2);
  CHECK(*resolved.gates.min_accuracy == 0.999);
  CHECK(compress({"check", "--recipe", (out / "recipe.resolved.yaml").string(), "--model", "cnn"}, kSource).code == 0);
  fs::remove_all(out);

  // What the trainer cannot do yet is refused before training, not ignored.
  const Run from_param = compress({"--recipe", "tests/data/recipes/cnn_check.yaml", "--out", out.string(), "--set",
                                   "pruning_modifiers.0.init_sparsity=__FROM_PARAM__"},
                                  kSource);
  CHECK(from_param.code == 2);
  CHECK(from_param.err.find("init_sparsity __FROM_PARAM__ of !GMPruningModifier is valid but this trainer needs a "
                            "number so far") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
}
