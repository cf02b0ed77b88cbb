// The golden table of bad invocations (tests/apps/bad_invocations/*.yaml): each case is a shell command line
// running `compress` or `sparrow` the wrong way. It must end within its time limit with its exit code and a
// message containing the expected text, and leave its working folder exactly as it was (docs/reliability.md).
//
// A case:
//   - name: what a user did
//     setup: shell commands run first in the case's folder {dir} (optional)
//     run: the command line, run by sh in {dir}
//     exit: 2
//     message: text the combined stdout + stderr must contain (a string or a list of strings)
//     changes: [paths under {dir} the command may change]  (optional; everything else must stay as it was)
//     seconds: time limit (optional, default 60); the command is killed after it, and the case fails
//
// Placeholders: {compress}, {sparrow}, {source} (the source tree), {dir}, and fixtures written once per table:
// {cnn} (a small CNN .sparrow, 1×8×8 images, labels cat/dog/eel), {cnn_images} (2 JSONL lines for it),
// {bert} (a tiny BERT .sparrow, labels ham/spam) and {texts} (2 JSONL lines for it).
// SPARROW_BAD_TABLE names one table (CMake adds one ctest per table); unset, all tables run.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/files.h"
#include "core/sha256.h"
#include "export/exporter.h"
#include "support/run_command.h"
#include "support/small_models.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const fs::path kTables = fs::path(SPARROW_SOURCE_DIR) / "tests/apps/bad_invocations";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::string shell_quote(const std::string& s) { return "'" + replace_all(s, "'", "'\\''") + "'"; }

// What a folder holds: every entry's relative path, type, size and content hash (symlinks by target, never
// followed), so a case can prove that nothing was written, replaced or deleted.
void snapshot_into(const fs::path& root, const fs::path& dir, std::map<std::string, std::string>& out) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto status = fs::symlink_status(entry.path());  // never follows a link: a loop is just a link
    const std::string rel = entry.path().lexically_relative(root).string();
    if (fs::is_symlink(status)) {
      out[rel] = "symlink -> " + fs::read_symlink(entry.path()).string();
    } else if (fs::is_regular_file(status)) {
      out[rel] = "file " + sha256_hex(read_file(entry.path()));
    } else if (fs::is_directory(status)) {
      out[rel] = "folder";
      snapshot_into(root, entry.path(), out);
    } else {
      out[rel] = "special file";
    }
  }
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  snapshot_into(dir, dir, out);
  return out;
}

struct Fixtures {
  fs::path dir;
  std::map<std::string, std::string> placeholders;

  Fixtures() : dir(fs::temp_directory_path() / ("sparrow_bad_fixtures_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    sparrow::testing::SmallCnn small;
    small.seed = 4;
    exporter::ExportOptions cnn_options;
    cnn_options.labels = {"cat", "dog", "eel"};
    exporter::export_model(*sparrow::testing::small_cnn(small), dir / "cnn.sparrow", cnn_options);
    std::string images;
    for (int i = 0; i < 2; ++i) images += nlohmann::json{{"image", std::vector<float>(64, 0.1f * i)}}.dump() + "\n";
    write_file_atomic(dir / "images.jsonl", images);
    exporter::export_model(*sparrow::testing::tiny_bert({}), dir / "bert.sparrow", {});
    write_file_atomic(dir / "texts.jsonl", "{\"text\": \"w1 w2 w3\"}\n{\"text\": \"w4 w0\"}\n");
    placeholders = {{"{compress}", std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress"},
                    {"{sparrow}", std::string(SPARROW_BINARY_DIR) + "/apps/sparrow/sparrow"},
                    {"{source}", SPARROW_SOURCE_DIR},
                    {"{cnn}", (dir / "cnn.sparrow").string()},
                    {"{cnn_images}", (dir / "images.jsonl").string()},
                    {"{bert}", (dir / "bert.sparrow").string()},
                    {"{texts}", (dir / "texts.jsonl").string()}};
  }
  ~Fixtures() { fs::remove_all(dir); }

  std::string expand(std::string s, const fs::path& case_dir) const {
    for (const auto& [from, to] : placeholders) s = replace_all(s, from, to);
    return replace_all(s, "{dir}", case_dir.string());
  }
};

std::vector<std::string> strings(const YAML::Node& n) {
  if (!n) return {};
  if (n.IsSequence()) return n.as<std::vector<std::string>>();
  return {n.as<std::string>()};
}

void run_table(const fs::path& table, const Fixtures& fixtures) {
  const YAML::Node cases = YAML::LoadFile(table.string());
  REQUIRE(cases.IsSequence());
  for (const auto& c : cases) {
    const std::string name = c["name"].as<std::string>();
    const fs::path dir = fixtures.dir / ("case_" + std::to_string(std::hash<std::string>{}(name)));
    fs::remove_all(dir);
    fs::create_directories(dir);
    INFO(table.filename().string() << ": " << name);
    if (c["setup"]) {
      const auto setup = run_command("cd " + shell_quote(dir.string()) + " && " + fixtures.expand(c["setup"].as<std::string>(), dir));
      INFO("setup: " << setup.output);
      REQUIRE(setup.exit_code == 0);
    }
    const auto before = snapshot(dir);
    const int seconds = c["seconds"] ? c["seconds"].as<int>() : 60;
    const std::string command = fixtures.expand(c["run"].as<std::string>(), dir);
    INFO("run: " << command);
    // A runaway allocation must not take the machine with it; sanitizers reserve terabytes of address space.
#if defined(__SANITIZE_ADDRESS__)
    const std::string limit;
#else
    const std::string limit = "ulimit -v 8000000; ";
#endif
    const auto r = run_command("cd " + shell_quote(dir.string()) + " && " + limit + "timeout -s KILL " +
                               std::to_string(seconds) + " sh -c " + shell_quote(command));
    INFO("output: " << r.output.substr(0, 4000));
    CHECK(r.exit_code != 137);  // killed by the time limit: a hang
    CHECK(r.exit_code == c["exit"].as<int>());
    for (const auto& text : strings(c["message"])) CHECK_THAT(r.output, Catch::Contains(text));
    auto after = snapshot(dir);
    auto expected = before;
    for (const auto& changed : strings(c["changes"])) {
      for (auto* m : {&after, &expected})
        for (auto it = m->begin(); it != m->end();)
          it = it->first == changed || it->first.rfind(changed + "/", 0) == 0 ? m->erase(it) : std::next(it);
    }
    CHECK(after == expected);
    fs::remove_all(dir);
  }
}

}  // namespace

TEST_CASE("every bad invocation exits with its code and message, in time, and leaves its folder as it was", "[cli][bad]") {
  std::vector<fs::path> tables;
  if (const char* one = std::getenv("SPARROW_BAD_TABLE")) tables.push_back(kTables / one);
  else
    for (const auto& e : fs::directory_iterator(kTables))
      if (e.path().extension() == ".yaml") tables.push_back(e.path());
  std::sort(tables.begin(), tables.end());
  REQUIRE_FALSE(tables.empty());
  const Fixtures fixtures;
  for (const auto& table : tables) run_table(table, fixtures);
}
