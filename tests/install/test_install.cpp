// `cmake --install` into an empty prefix, then the two examples built with find_package(Sparrow) against that
// prefix only: classify_email gives the same label as `sparrow run` on the same file, and prune_module
// leaves a module pruned and quantized as its recipe says.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>

#include "core/files.h"
#include "export/exporter.h"
#include "support/run_command.h"
#include "support/small_models.h"

namespace fs = std::filesystem;
using sparrow::testing::run_command;

namespace {

const std::string kSource = SPARROW_SOURCE_DIR;
const std::string kBuild = SPARROW_BINARY_DIR;
const std::string kCmake = SPARROW_CMAKE_COMMAND;

// The value after `key ` on its own line of `text`, or "" when there is none.
std::string field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

struct InstalledExamples {
  fs::path dir = fs::temp_directory_path() / ("sparrow-install-" + std::to_string(::getpid()));
  fs::path prefix = dir / "prefix";
  fs::path build = dir / "build";
  InstalledExamples() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto install = run_command(kCmake + " --install " + kBuild + " --prefix " + prefix.string());
    INFO(install.output);
    REQUIRE(install.exit_code == 0);
    // Only the prefix: no package registry, and the build tree nowhere on the search path.
    const auto configure = run_command(kCmake + " -S " + kSource + "/examples -B " + build.string() +
                                       " -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix.string() +
                                       " -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF");
    INFO(configure.output);
    REQUIRE(configure.exit_code == 0);
    const auto compile = run_command(kCmake + " --build " + build.string());
    INFO(compile.output);
    REQUIRE(compile.exit_code == 0);
  }
  ~InstalledExamples() { fs::remove_all(dir); }
};

InstalledExamples& examples() {
  static InstalledExamples e;
  return e;
}

}  // namespace

TEST_CASE("install: classify_email, built against the installed engine, labels an e-mail as sparrow run does", "[install][slow]") {
  auto& e = examples();
  const fs::path model = e.dir / "bert.sparrow", email = e.dir / "email.txt", jsonl = e.dir / "email.jsonl";
  sparrow::exporter::export_model(*sparrow::testing::tiny_bert({}), model, {});
  const std::string text = "w1 w7 w3 w12 w5 w5";
  sparrow::write_file_atomic(email, text);
  sparrow::write_file_atomic(jsonl, "{\"text\": \"" + text + "\"}\n");

  const fs::path app = e.build / "classify_email";
  // The engine library comes from the prefix, and it needs no LibTorch.
  const auto libs = run_command("ldd " + app.string());
  CHECK_THAT(libs.output, Catch::Contains((e.prefix / "lib").string() + "/libsparrow_engine.so"));
  const auto engine_libs = run_command("ldd " + (e.prefix / "lib" / "libsparrow_engine.so").string());
  CHECK_THAT(engine_libs.output, !Catch::Contains("libtorch") && !Catch::Contains("libc10"));

  const auto r = run_command(app.string() + " " + model.string() + " " + email.string() + " 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto cli = run_command(kBuild + "/apps/sparrow/sparrow run " + model.string() + " --input " + jsonl.string());
  INFO(cli.output);
  REQUIRE(cli.exit_code == 0);
  const std::string label = r.output.substr(0, r.output.find(' '));
  CHECK((label == "ham" || label == "spam"));
  CHECK_THAT(cli.output, Catch::Contains("\"label\":\"" + label + "\""));

  // The installed engine CLI finds its LibTorch baseline plug-in in ../lib.
  const auto bench = run_command((e.prefix / "bin" / "sparrow").string() + " bench " + model.string() +
                                 " --seq 8 --compare --iterations 1 --warmup 0 --json");
  INFO(bench.output);
  CHECK(bench.exit_code == 0);
  CHECK_THAT(bench.output, Catch::Contains("\"baseline\":\"LibTorch "));

  const auto missing = run_command(app.string() + " " + (e.dir / "nope.sparrow").string() + " " + email.string());
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("nope.sparrow"));
}

TEST_CASE("install: prune_module compresses a user-defined module with its recipe", "[install][slow]") {
  auto& e = examples();
  const fs::path app = e.build / "prune_module";
  REQUIRE(fs::exists(app));
  const auto r = run_command(app.string() + " " + kSource + "/examples/prune_module/recipe.yaml");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The recipe: fc1 and fc2 to 80 % in 1x4 blocks, QAT from epoch 6 through sparrow::linear.
  const std::string fc1 = field(r.output, "layer fc1.weight"), fc2 = field(r.output, "layer fc2.weight");
  REQUIRE(!fc1.empty());
  REQUIRE(!fc2.empty());
  CHECK(fc1.rfind("block4 ", 0) == 0);
  CHECK(std::stod(fc1.substr(7)) == Approx(0.80).margin(0.01));
  CHECK(std::stod(fc2.substr(7)) == Approx(0.80).margin(0.01));
  // The module itself holds the masks: the app counts fc1's zeros from its tensor, whole 1x4 blocks of them.
  std::istringstream zeros(field(r.output, "fc1_zeros"));
  long zero = 0, of = 0;
  std::string word;
  zeros >> zero >> word >> of;
  CHECK(of == 64 * 16);
  CHECK(zero % 4 == 0);
  CHECK(static_cast<double>(zero) / of == Approx(std::stod(fc1.substr(7))));
  CHECK_THAT(r.output, Catch::Contains("quantized fc1") && Catch::Contains("quantized fc2"));
  // Three well-separated clusters: the pruned, quantized module still separates them.
  CHECK(std::stod(field(r.output, "accuracy")) >= 0.9);

  // A recipe that names a zoo model is refused: it configures the compress app's runs, not this call.
  const fs::path bad = e.dir / "zoo.yaml";
  sparrow::write_file_atomic(bad, "model: {name: mlp}\ntrain: {epochs: 1}\n");
  const auto refused = run_command(app.string() + " " + bad.string());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("zoo.yaml: model: configure the compress app's own runs"));
}
