#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

#include "core/errors.h"
#include "core/files.h"
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

TEST_CASE("StagedDir appears under its final name only when committed", "[core]") {
  const fs::path root = fresh_dir("staged");
  const fs::path out = root / "run";
  {
    StagedDir staged(out);
    write_file_atomic(staged.path() / "report.json", "{}");
    CHECK_FALSE(fs::exists(out));
  }
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(root / "run.partial"));
  {
    StagedDir staged(out);
    write_file_atomic(staged.path() / "report.json", "{\"v\": 1}");
    staged.commit();
  }
  CHECK(read_file(out / "report.json") == "{\"v\": 1}");
  {
    StagedDir staged(out);
    write_file_atomic(staged.path() / "other.json", "{}");
    staged.commit();
  }
  CHECK(fs::exists(out / "other.json"));
  CHECK_FALSE(fs::exists(out / "report.json"));
  fs::remove_all(root);
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[core]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
