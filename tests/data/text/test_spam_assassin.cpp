// The SpamAssassin loader on real messages from the installed corpus.
#include <catch2/catch.hpp>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/spam_assassin.h"

using namespace sparrow;
using namespace sparrow::data::text;
using Catch::Contains;

namespace {

// A small real subset: the first `n` messages of each group, copied to a temp folder.
fs::path subset(size_t n) {
  const fs::path src = default_spam_assassin_dir();
  REQUIRE(fs::is_directory(src));
  const fs::path dst = fs::temp_directory_path() / "sparrow_test_spam_assassin";
  fs::remove_all(dst);
  for (const char* group : {"easy-ham-1", "hard-ham-1", "spam-1"}) {
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(src / group))
      if (f.path().extension() == ".json") files.push_back(f.path());
    std::sort(files.begin(), files.end());
    fs::create_directories(dst / group);
    for (size_t i = 0; i < n && i < files.size(); ++i) fs::copy_file(files[i], dst / group / files[i].filename());
  }
  return dst;
}

}  // namespace

TEST_CASE("SpamAssassin: labels from the group, subject and body text, no routing headers", "[spam_assassin]") {
  const fs::path dir = subset(20);
  const auto train = load_spam_assassin(dir, data::Split::Train, 0);
  const auto test = load_spam_assassin(dir, data::Split::Test, 0);
  CHECK(train.size() + test.size() == 60);
  CHECK(train.label_names == std::vector<std::string>{"ham", "spam"});
  int64_t spam = 0;
  for (int64_t l : train.labels) spam += l;
  for (int64_t l : test.labels) spam += l;
  CHECK(spam == 20);
  for (const auto* d : {&train, &test})
    for (const auto& t : d->texts) {
      CHECK_THAT(t, !Contains("Received: from") && !Contains("Return-Path:"));
      CHECK(t.size() > 20);
    }
  // spam-1/00001 is an HTML, quoted-printable message about life insurance.
  bool found = false;
  for (const auto* d : {&train, &test})
    for (const auto& t : d->texts)
      if (t.rfind("Life Insurance - Why Pay More?\n", 0) == 0) {
        found = true;
        CHECK_THAT(t, Contains("Save up to 70% on Life Insurance"));
        CHECK_THAT(t, !Contains("=3D") && !Contains("<TABLE"));
      }
  CHECK(found);
  const auto limited = load_spam_assassin(dir, data::Split::Train, 5);
  CHECK(std::vector<std::string>(train.texts.begin(), train.texts.begin() + 5) == limited.texts);
  fs::remove_all(dir);
}

TEST_CASE("SpamAssassin: the whole corpus splits 80/20, disjoint and stable", "[spam_assassin]") {
  const auto train = load_spam_assassin(default_spam_assassin_dir(), data::Split::Train, 0);
  const auto test = load_spam_assassin(default_spam_assassin_dir(), data::Split::Test, 0);
  CHECK(train.size() + test.size() == 6046);
  const double test_share = static_cast<double>(test.size()) / 6046.0;
  CHECK(test_share > 0.18);
  CHECK(test_share < 0.22);
  // Same split again.
  CHECK(load_spam_assassin(default_spam_assassin_dir(), data::Split::Test, 50).texts ==
        std::vector<std::string>(test.texts.begin(), test.texts.begin() + 50));
  int64_t spam = 0;
  for (int64_t l : test.labels) spam += l;
  CHECK(spam > test.size() / 5);  // 1896 of 6046 messages are spam
  CHECK(spam < test.size() / 2);
}

TEST_CASE("SpamAssassin: a missing folder is a clear error", "[spam_assassin]") {
  CHECK_THROWS_WITH(load_spam_assassin("/nonexistent/corpus", data::Split::Train, 0),
                    Contains("/nonexistent/corpus") && Contains("SPARROW_DATA_DIR"));
}
