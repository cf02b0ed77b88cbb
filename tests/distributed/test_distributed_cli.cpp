// compress on several ranks: equivalence with one rank, and clean failure when
// a rank dies or hangs.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "distributed/spawn.h"
#include "models/checkpoint.h"
#include "support/run_command.h"

using namespace sparrow;
using namespace std::chrono_literals;
using sparrow::testing::Child;
using sparrow::testing::run_command;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";
const std::string kTinyRecipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_gmp.yaml";

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_dist_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string file_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Waits until `file` contains `text` (false after `limit`).
bool wait_for_text(const fs::path& file, const std::string& text, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_text(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Two ranks launched the torchrun way, training the tiny recipe for longer
// than the test lets them, with a short collective timeout.
struct TwoRanks {
  fs::path dir;
  fs::path out;
  std::vector<std::unique_ptr<Child>> ranks;

  TwoRanks(const std::string& name, int timeout_seconds) : dir(scratch_dir(name)), out(dir / "out") {
    const std::string port = std::to_string(free_port());
    fs::create_directories(dir / "tmp");  // where a killed rank leaves its scratch folder
    for (int r = 0; r < 2; ++r)
      ranks.push_back(std::make_unique<Child>(
          std::vector<std::string>{kCompress, "--threads", "1", "--recipe", kTinyRecipe, "--set", "train.epochs=50",
                                   "--out", out.string()},
          std::map<std::string, std::string>{{"MASTER_ADDR", "127.0.0.1"},
                                             {"MASTER_PORT", port},
                                             {"WORLD_SIZE", "2"},
                                             {"RANK", std::to_string(r)},
                                             {"LOCAL_RANK", std::to_string(r)},
                                             {"SPARROW_DIST_TIMEOUT", std::to_string(timeout_seconds)},
                                             {"TMPDIR", (dir / "tmp").string()}},
          (dir / ("rank" + std::to_string(r) + ".txt")).string()));
  }
  ~TwoRanks() {
    ranks.clear();
    fs::remove_all(dir);
  }
  std::string output(int r) const { return file_text(dir / ("rank" + std::to_string(r) + ".txt")); }
  // Rank 0 logs each finished epoch on the console; once it did, both ranks are in epoch 2.
  bool training() const { return wait_for_text(dir / "rank0.txt", "epoch 1.00:", 60s); }
};

}  // namespace

TEST_CASE("2 ranks over loopback train exactly what 1 rank trains", "[distributed][e2e]") {
  // Unstructured pruning with an uneven last batch; block4 pruning and QAT with a last batch of one item.
  const std::string name = GENERATE(std::string("short_gmp"), std::string("short_block_qat"));
  INFO(name);
  const fs::path dir = scratch_dir("equal_" + name);
  const std::string recipe = std::string(SPARROW_SOURCE_DIR) + "/tests/distributed/" + name + ".yaml";
  const auto one = run_command(kCompress + " --threads 1 --recipe " + recipe + " --out " + (dir / "one").string());
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const auto two =
      run_command(kCompress + " --threads 1 --nproc 2 --recipe " + recipe + " --out " + (dir / "two").string());
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK_THAT(two.output, Catch::Contains("over 2 rank(s)"));

  auto m1 = models::load_checkpoint(dir / "one" / "checkpoint");
  auto m2 = models::load_checkpoint(dir / "two" / "checkpoint");
  const auto p1 = m1->named_parameters(), p2 = m2->named_parameters();
  REQUIRE(p1.size() == p2.size());
  for (const auto& p : p1) {
    INFO(p.key());
    const auto& a = p.value();
    const auto& b = p2[p.key()];
    CHECK((a - b).abs().max().item<double>() <= 1e-5);
    CHECK(a.eq(0).equal(b.eq(0)));  // the same weights pruned
  }

  // The observers saw the same global ranges (the activations differ by float rounding only).
  const fs::path q1 = dir / "one" / "checkpoint" / "quantization.json";
  REQUIRE(fs::exists(q1) == (name == "short_block_qat"));
  if (fs::exists(q1)) {
    const auto a = nlohmann::json::parse(read_file(q1));
    const auto b = nlohmann::json::parse(read_file(dir / "two" / "checkpoint" / "quantization.json"));
    REQUIRE(a.size() == b.size());
    for (const auto& [layer, range] : a.items()) {
      INFO(layer);
      CHECK(range["lo"].get<double>() == Approx(b[layer]["lo"].get<double>()).margin(1e-5));
      CHECK(range["hi"].get<double>() == Approx(b[layer]["hi"].get<double>()).epsilon(1e-5));
    }
  }

  auto r1 = nlohmann::json::parse(read_file(dir / "one" / "report.json"));
  auto r2 = nlohmann::json::parse(read_file(dir / "two" / "report.json"));
  REQUIRE(r1["epochs"].size() == r2["epochs"].size());
  for (size_t e = 0; e < r1["epochs"].size(); ++e) {
    // The mean loss is summed in another order across ranks: equal to float precision.
    CHECK(r1["epochs"][e]["loss"].get<double>() == Approx(r2["epochs"][e]["loss"].get<double>()).epsilon(1e-5));
    r1["epochs"][e].erase("loss");
    r2["epochs"][e].erase("loss");
  }
  r1.erase("wall_seconds");
  r2.erase("wall_seconds");
  // Each run names its own output folder; the engine check measures speed.
  CHECK(r1["export"]["bytes"] == r2["export"]["bytes"]);
  CHECK(r1["engine"]["accuracy"] == r2["engine"]["accuracy"]);
  for (auto* r : {&r1, &r2}) {
    r->erase("export");
    r->erase("engine");
  }
  CHECK(r1.dump(2) == r2.dump(2));
  // Only rank 0 wrote, and only the usual outputs.
  for (const auto& entry : fs::directory_iterator(dir)) CHECK((entry.path().filename() == "one" || entry.path().filename() == "two"));
  fs::remove_all(dir);
}

TEST_CASE("a rank killed mid-epoch makes the others fail within the timeout, naming it", "[distributed][failure]") {
  TwoRanks job("kill", 5);
  REQUIRE(job.training());
  job.ranks[1]->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const auto status = job.ranks[0]->wait_for(15s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  INFO(job.output(0));
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK(seconds < 5.0);
  CHECK_THAT(job.output(0), Catch::Contains("rank 1 (") && Catch::Contains("stopped responding"));
  CHECK_FALSE(fs::exists(job.out));
  CHECK_FALSE(fs::exists(job.out.string() + ".partial"));
}

TEST_CASE("a hung rank makes the others fail after the timeout, naming it", "[distributed][failure]") {
  TwoRanks job("hang", 2);
  REQUIRE(job.training());
  job.ranks[1]->signal(SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  const auto status = job.ranks[0]->wait_for(20s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  INFO(job.output(0));
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK(seconds >= 1.5);
  CHECK(seconds < 2.0 + 5.0);
  CHECK_THAT(job.output(0), Catch::Contains("rank 1 (") && Catch::Contains("stopped responding"));
  CHECK_FALSE(fs::exists(job.out));
  CHECK_FALSE(fs::exists(job.out.string() + ".partial"));
}

TEST_CASE("a rank that fails on its own is named with its reason", "[distributed][failure]") {
  const fs::path dir = scratch_dir("own");
  const std::string port = std::to_string(free_port());
  std::vector<std::unique_ptr<Child>> ranks;
  for (int r = 0; r < 2; ++r) {
    const std::string recipe = r == 0 ? kTinyRecipe : (dir / "absent.yaml").string();
    ranks.push_back(std::make_unique<Child>(
        std::vector<std::string>{kCompress, "--threads", "1", "--recipe", recipe, "--out", (dir / "out").string()},
        std::map<std::string, std::string>{{"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}, {"WORLD_SIZE", "2"},
                                           {"RANK", std::to_string(r)}, {"SPARROW_DIST_TIMEOUT", "10"}},
        (dir / ("rank" + std::to_string(r) + ".txt")).string()));
  }
  const auto s1 = ranks[1]->wait_for(30s), s0 = ranks[0]->wait_for(30s);
  INFO(file_text(dir / "rank0.txt"));
  REQUIRE((s0 && s1));
  CHECK(WEXITSTATUS(*s1) == 2);
  CHECK(WEXITSTATUS(*s0) == 3);
  CHECK_THAT(file_text(dir / "rank0.txt"), Catch::Contains("rank 1 (") && Catch::Contains("failed: ") &&
                                               Catch::Contains("absent.yaml"));
  CHECK_FALSE(fs::exists(dir / "out"));
  CHECK_FALSE(fs::exists(dir / "out.partial"));
  ranks.clear();
  fs::remove_all(dir);
}

TEST_CASE("compress --nproc with bad input exits 2 and writes nothing", "[distributed]") {
  const fs::path dir = scratch_dir("nproc_bad");
  const auto r = run_command(kCompress + " --nproc 2 --recipe " + (dir / "absent.yaml").string() + " --out " +
                             (dir / "out").string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("absent.yaml"));
  CHECK_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}
