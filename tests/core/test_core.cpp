#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/sha256.h"

using namespace sparrow;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_test_core_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST_CASE("errors map to the documented exit codes", "[core]") {
  CHECK(exit_code_for(GateFailed("x")) == 1);
  CHECK(exit_code_for(BadInput("x")) == 2);
  CHECK(exit_code_for(InternalError("x")) == 3);
  CHECK(exit_code_for(std::runtime_error("x")) == 3);
}

TEST_CASE("write_file_atomic replaces the file and leaves no temporary behind", "[core]") {
  const fs::path dir = fresh_dir("atomic");
  const fs::path file = dir / "a.txt";
  write_file_atomic(file, "first");
  write_file_atomic(file, "second");
  CHECK(read_file(file) == "second");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
  CHECK_THROWS_AS(write_file_atomic(dir / "missing" / "b.txt", "x"), BadInput);
  fs::remove_all(dir);
}

TEST_CASE("read_file names a missing file", "[core]") {
  CHECK_THROWS_WITH(read_file("/nonexistent/recipe.yaml"), Catch::Contains("/nonexistent/recipe.yaml"));
}

TEST_CASE("StagedDir appears under its final name only when committed; the previous run is kept as .old", "[core]") {
  const fs::path root = fresh_dir("staged");
  const fs::path out = root / "run";
  {
    StagedDir staged(out, "--out");
    write_file_atomic(staged.path() / "report.json", "{}");
    CHECK_FALSE(fs::exists(out));
  }
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(root / "run.partial"));
  {
    StagedDir staged(out, "--out");
    write_file_atomic(staged.path() / "report.json", "{\"v\": 1}");
    staged.commit();
  }
  CHECK(read_file(out / "report.json") == "{\"v\": 1}");
  CHECK(fs::exists(out / kOutputMarker));
  for (int run = 2; run <= 3; ++run) {
    StagedDir staged(out, "--out");
    write_file_atomic(staged.path() / "other.json", std::to_string(run));
    staged.commit();
  }
  CHECK(read_file(out / "other.json") == "3");
  CHECK_FALSE(fs::exists(out / "report.json"));
  CHECK(read_file(root / "run.old" / "other.json") == "2");  // one previous run is kept
  fs::remove_all(root);
}

TEST_CASE("StagedDir keeps a folder named for resuming, which a fresh run refuses and a resume continues", "[core]") {
  const fs::path root = fresh_dir("resume");
  const fs::path out = root / "run", partial = root / "run.partial";
  CHECK_THROWS_WITH(StagedDir(out, "--out", Staging::Resume),
                    Catch::Contains("--resume: " + partial.string() + " does not exist"));
  CHECK_FALSE(fs::exists(partial));
  {
    StagedDir staged(out, "--out");
    staged.keep_for_resume("resume");  // announced before it exists: nothing to resume from yet
    CHECK_FALSE(StagedDir::resumable(out));
  }
  CHECK(fs::exists(partial));  // kept by the failure, yet not resumable: a resume refuses, a fresh run replaces it
  CHECK_THROWS_WITH(StagedDir(out, "--out", Staging::Resume), Catch::Contains("holds no checkpoint"));
  {
    StagedDir staged(out, "--out");
    staged.keep_for_resume("resume");
    fs::create_directories(staged.path() / "resume");
    write_file_atomic(staged.path() / "resume" / "latest", "epoch-1-step-0\n");
  }
  CHECK(StagedDir::resumable(out));
  const std::string marker = read_file(partial / kOutputMarker);
  CHECK_THROWS_WITH(StagedDir(out, "--out"), Catch::Contains("add --resume to continue it"));
  CHECK(read_file(partial / "resume" / "latest") == "epoch-1-step-0\n");
  CHECK(read_file(partial / kOutputMarker) == marker);
  {
    StagedDir staged(out, "--out", Staging::Resume);
    CHECK(read_file(partial / kOutputMarker) == marker);  // a resume writes nothing until its caller does
    write_file_atomic(staged.path() / "report.json", "{}");
    fs::remove_all(staged.path() / "resume");  // the caller's part: the finished run carries no checkpoints
    staged.commit();
  }
  CHECK_FALSE(fs::exists(partial));
  CHECK(read_file(out / "report.json") == "{}");
  CHECK(read_file(out / kOutputMarker).find("resume") == std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("StagedDir refuses, before any work, what Sparrow did not write, and deletes nothing", "[core]") {
  const fs::path root = fresh_dir("staged_refuse");
  const fs::path out = root / "run";
  fs::create_directories(out);
  write_file_atomic(out / "thesis.tex", "mine");
  CHECK_THROWS_WITH(StagedDir(out, "--out"), Catch::Contains("--out " + out.string()) &&
                                                 Catch::Contains("a folder Sparrow did not write") &&
                                                 Catch::Contains("thesis.tex"));
  CHECK(read_file(out / "thesis.tex") == "mine");
  CHECK_FALSE(fs::exists(root / "run.partial"));

  // A finished run the user added a file to is not replaced either.
  const fs::path run = root / "finished";
  {
    StagedDir staged(run, "--out");
    write_file_atomic(staged.path() / "report.json", "{}");
    staged.commit();
  }
  write_file_atomic(run / "notes.txt", "mine");
  CHECK_THROWS_WITH(StagedDir(run, "--out"), Catch::Contains("holds files Sparrow did not write (notes.txt)"));
  CHECK(read_file(run / "notes.txt") == "mine");

  write_file_atomic(root / "file", "mine");
  CHECK_THROWS_WITH(StagedDir(root / "file", "--out"), Catch::Contains("exists and is not a folder"));
  CHECK_THROWS_WITH(StagedDir(fs::current_path(), "--out"), Catch::Contains("the current folder or one of its parents"));
  CHECK_THROWS_WITH(StagedDir(fs::current_path().parent_path(), "--out"), Catch::Contains("one of its parents"));

  // An empty folder is taken, and replaced by the run.
  fs::create_directories(root / "empty");
  {
    StagedDir staged(root / "empty", "--out");
    staged.commit();
  }
  CHECK(fs::exists(root / "empty" / kOutputMarker));
  CHECK_FALSE(fs::exists(root / "empty.old"));
  fs::remove_all(root);
}

TEST_CASE("read_file refuses what is not a regular file, and files over their size limit", "[core]") {
  const fs::path dir = fresh_dir("read");
  CHECK_THROWS_WITH(read_file(dir), Catch::Contains("not a regular file (it is a folder)"));
  CHECK_THROWS_WITH(read_file("/dev/zero"), Catch::Contains("not a regular file (it is a device, FIFO or socket)"));
  CHECK_THROWS_WITH(read_file("/proc/self/status"), Catch::Contains("not a regular file (it is a /proc or /sys file)"));
  fs::create_symlink(dir / "b", dir / "a");
  fs::create_symlink(dir / "a", dir / "b");
  CHECK_THROWS_WITH(read_file(dir / "a"), Catch::Contains("a loop of symbolic links"));
  write_file_atomic(dir / "f", "12345");
  CHECK(read_file(dir / "f", 5) == "12345");
  CHECK_THROWS_WITH(read_file(dir / "f", 4), Catch::Contains("5 bytes, more than the 4 bytes"));
  fs::remove_all(dir);
}

TEST_CASE("write_file_atomic writes through a symlink, in place to a device, and refuses a folder", "[core]") {
  const fs::path dir = fresh_dir("write_through");
  write_file_atomic(dir / "target", "old");
  fs::create_symlink(dir / "target", dir / "link");
  write_file_atomic(dir / "link", "new");
  CHECK(fs::is_symlink(dir / "link"));
  CHECK(read_file(dir / "target") == "new");
  write_file_atomic("/dev/null", "gone");
  CHECK(fs::is_character_file("/dev/null"));
  CHECK_THROWS_WITH(write_file_atomic("/dev/full", "x"), Catch::Contains("/dev/full: write failed: No space left on device"));
  CHECK(fs::is_character_file("/dev/full"));
  CHECK_THROWS_WITH(write_file_atomic(dir, "x"), Catch::Contains("is a folder"));
  fs::remove_all(dir);
}

TEST_CASE("an interrupted run exits with 128 + the signal", "[core]") {
  CHECK(exit_code_for(Interrupted(2, "x")) == 130);
  CHECK(exit_code_for(Interrupted(15, "x")) == 143);
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[core]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a log file on a full disk is bad input naming it, not an internal error", "[core]") {
  setup_logging(Verbosity::Quiet);
  log_to_file("/dev/full");
  spdlog::debug("a line that cannot be written");
  CHECK_THROWS_AS(close_log_file(), BadInput);
  setup_logging(Verbosity::Quiet);
  log_to_file("/dev/full");
  spdlog::debug("again");
  CHECK_THROWS_WITH(close_log_file(), Catch::Contains("/dev/full: write failed (disk full?)"));
}
