// compress --resume (docs/resume.md): runs killed with SIGKILL at random moments, mid-epoch and while a
// checkpoint is being written, then resumed, end with the same checkpoint bytes as a run never killed; a
// resume that does not match the run it continues is refused with exit 2 and changes nothing.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/sha256.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";
const std::string kRecipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_resume.yaml";

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_resume_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kStructuredRecipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_resume_structured.yaml";

std::string command(const fs::path& out, const std::string& extra = "", const std::string& recipe = kRecipe) {
  return kCompress + " --threads 1 --quiet --recipe " + recipe + " --out " + out.string() + " " + extra;
}

// Starts compress on one thread (per rank) in the background, with `nproc` ranks (0: one process); the
// caller kills or waits for it.
pid_t start(const fs::path& out, int nproc = 0, const std::string& recipe = kRecipe) {
  std::vector<std::string> args = {kCompress, "--threads", "1", "--quiet", "--recipe", recipe, "--out", out.string()};
  if (nproc > 0) args.insert(args.end(), {"--nproc", std::to_string(nproc)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execv(kCompress.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// The processes whose parent is `parent` (a launcher's ranks).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");  // read_file refuses /proc files, whose size is unknown
    std::string stat;
    if (!std::getline(in, stat)) continue;  // it ended meanwhile
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

void kill_now(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Every file under `dir` with its bytes' hash: a folder left exactly as it was compares equal.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out[e.path().lexically_relative(dir).string()] = e.is_regular_file() ? sha256_hex(read_file(e.path())) : "folder";
  return out;
}

// The checkpoint folder beside `latest` that `latest` does not name (one being written), or "".
std::string checkpoint_being_written(const fs::path& resume) {
  std::error_code ec;
  std::string latest;
  if (fs::exists(resume / "latest", ec)) latest = read_file(resume / "latest");
  for (const auto& e : fs::directory_iterator(resume, ec))
    if (e.is_directory() && latest.find(e.path().filename().string()) == std::string::npos) return e.path().filename();
  return "";
}

// Waits until `ready` holds or the process ended by itself (false).
template <typename Ready>
bool wait_for(pid_t pid, Ready ready) {
  while (!ready()) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

std::string weights(const fs::path& out) { return read_file(out / "checkpoint" / "model.safetensors"); }

}  // namespace

TEST_CASE("resume: runs killed at random moments end with the bytes of an uninterrupted run", "[resume]") {
  const fs::path dir = scratch_dir("kill");
  const auto began = std::chrono::steady_clock::now();
  const auto reference = run_command(command(dir / "reference"));
  const auto run_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count();
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  const std::string expected = weights(dir / "reference");
  CHECK_FALSE(fs::exists(dir / "reference" / "resume"));  // the finished run carries no checkpoints

  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  INFO("kill moments drawn with seed " << seed << "; an uninterrupted run took " << run_ms << " ms");
  int mid_write = 0;
  for (int i = 0; i < 4; ++i) {
    const fs::path out = dir / ("killed" + std::to_string(i));
    const pid_t pid = start(out);
    bool running = true;  // false: it finished before the moment came (and was reaped)
    if (i % 2 == 0) {
      // Mid-epoch: a moment within the training (the first ~70 % of the run; the rest is export and checks).
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(300, run_ms * 7 / 10)(random)));
    } else {
      // Mid-checkpoint: as soon as a checkpoint folder appears that `latest` does not name yet, after a random
      // number of earlier ones.
      const size_t skip = std::uniform_int_distribution<size_t>(0, 6)(random);
      std::set<std::string> seen;
      running = wait_for(pid, [&] {
        const std::string name = checkpoint_being_written(fs::path(out.string() + ".partial") / "resume");
        if (!name.empty()) seen.insert(name);
        return !name.empty() && seen.size() > skip;
      });
    }
    if (running) kill_now(pid);
    if (!checkpoint_being_written(fs::path(out.string() + ".partial") / "resume").empty()) ++mid_write;
    // Killed before its first checkpoint (or after it finished), a run has nothing to continue: --resume says
    // so, and a plain run starts over.
    auto resumed = run_command(command(out, "--resume"));
    if (resumed.exit_code == 2 && (resumed.output.find("holds no checkpoint") != std::string::npos ||
                                   resumed.output.find("does not exist") != std::string::npos))
      resumed = run_command(command(out));
    INFO("run " << i << ": " << resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(weights(out) == expected);
    CHECK_FALSE(fs::exists(fs::path(out.string() + ".partial")));
  }
  WARN(mid_write << " of 4 runs were killed with a checkpoint folder half-written");
  fs::remove_all(dir);
}

TEST_CASE("resume: a run that removes channels while it trains resumes into the shrunk model, to the same bytes",
          "[resume]") {
  const fs::path dir = scratch_dir("structured");
  const auto reference = run_command(command(dir / "reference", "", kStructuredRecipe));
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  const std::string expected = weights(dir / "reference");
  // conv2 ended with half of its 8 channels.
  CHECK(nlohmann::json::parse(read_file(dir / "reference" / "checkpoint" / "config.json"))["conv2_channels"] == 4);

  // Killed once its 7th checkpoint is complete (epoch 1.75 of 3: channels removed at 0.5 to 1.75, more to come,
  // first-order scores accumulating), then resumed.
  const fs::path out = dir / "killed";
  const pid_t pid = start(out, 0, kStructuredRecipe);
  const fs::path resume = fs::path(out.string() + ".partial") / "resume";
  const bool running = wait_for(pid, [&] {
    std::error_code ec;
    if (!fs::exists(resume / "latest", ec)) return false;
    std::smatch m;  // "epoch-E-step-S": S steps into epoch E (from 0), 16 steps an epoch
    const std::string latest = read_file(resume / "latest");
    return std::regex_search(latest, m, std::regex("epoch-([0-9]+)-step-([0-9]+)")) &&
           std::stoi(m[1]) * 16 + std::stoi(m[2]) >= 28;
  });
  REQUIRE(running);
  kill_now(pid);
  const auto resumed = run_command(command(out, "--resume", kStructuredRecipe));
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, !Catch::Contains("no resume checkpoints"));
  CHECK(weights(out) == expected);
  fs::remove_all(dir);
}

TEST_CASE("resume: a changed recipe, a plain rerun, and no unfinished run are refused with exit 2", "[resume]") {
  const fs::path dir = scratch_dir("refuse");
  const fs::path out = dir / "run", partial = dir / "run.partial";

  SECTION("--resume without an unfinished run names the folder it looked for") {
    const auto r = run_command(command(out, "--resume"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--resume: " + partial.string() + " does not exist"));
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(partial));
  }
  SECTION("a changed recipe or a plain rerun leaves the unfinished run byte for byte") {
    const pid_t pid = start(out);
    REQUIRE(wait_for(pid, [&] { return fs::exists(partial / "resume" / "latest"); }));
    kill_now(pid);
    const auto before = snapshot(partial);

    const auto changed = run_command(command(out, "--resume --set train.lr=0.06"));
    CHECK(changed.exit_code == 2);
    CHECK_THAT(changed.output, Catch::Contains(partial.string() + " was started with other inputs: the recipe"));
    CHECK(snapshot(partial) == before);

    const auto plain = run_command(command(out));
    CHECK(plain.exit_code == 2);
    CHECK_THAT(plain.output, Catch::Contains("add --resume to continue it"));
    CHECK(snapshot(partial) == before);
    CHECK_FALSE(fs::exists(out));

    const auto resumed = run_command(command(out, "--resume"));
    INFO(resumed.output);
    CHECK(resumed.exit_code == 0);
    CHECK_FALSE(fs::exists(partial));
  }
  fs::remove_all(dir);
}

TEST_CASE("resume: a distributed run whose launcher is killed resumes every rank from one checkpoint, to the same bytes",
          "[resume][distributed]") {
  const fs::path dir = scratch_dir("dist");
  const auto reference = run_command(command(dir / "reference", "--nproc 2"));
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);

  // Killed once the checkpoint in place was taken after BatchNorm's statistics froze (epoch 2.25): from there on
  // each rank's own statistics shape its gradients, so every rank's must come back.
  const fs::path out = dir / "killed", latest = dir / "killed.partial" / "resume" / "latest";
  const pid_t launcher = start(out, 2);
  REQUIRE(wait_for(launcher, [&] {
    std::error_code ec;
    if (!fs::exists(latest, ec)) return false;
    const std::string name = read_file(latest);
    return name.rfind("epoch-3-", 0) == 0 || (name.rfind("epoch-2-step-", 0) == 0 && std::stoi(name.substr(13)) >= 8);
  }));
  const std::vector<pid_t> ranks = children_of(launcher);
  CHECK(ranks.size() == 2);
  kill_now(launcher);
  // The ranks die with their launcher (otherwise they would train on into the folder being resumed).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (pid_t rank : ranks)
    while (::kill(rank, 0) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (pid_t rank : ranks) CHECK(::kill(rank, 0) != 0);

  const auto resumed = run_command(command(out, "--nproc 2 --resume"));
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(weights(out) == weights(dir / "reference"));

  // Another world size cannot continue it.
  const pid_t again = start(dir / "again", 2);
  REQUIRE(wait_for(again, [&] { return fs::exists(dir / "again.partial" / "resume" / "latest"); }));
  kill_now(again);
  const auto one = run_command(command(dir / "again", "--resume"));
  CHECK(one.exit_code == 2);
  CHECK_THAT(one.output, Catch::Contains("was started with other inputs: the number of ranks (--nproc) differs"));
  CHECK_FALSE(fs::exists(dir / "again"));
  fs::remove_all(dir);
}
