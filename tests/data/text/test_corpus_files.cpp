// A user's own corpus (dataset: text): .txt files, JSONL {"text": ...} lines and folders of them, read back
// exactly, and a golden error for each kind of bad input.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "data/dataset.h"
#include "data/text/corpus.h"
#include "data/text/corpus_files.h"

using namespace sparrow;
using namespace sparrow::data::text;

namespace {

// A fresh, empty folder for one test case.
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_test_corpus_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string error_of(const fs::path& path) {
  try {
    load_corpus_files(path);
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no error for " << path);
  return "";
}

std::vector<std::string> ids_of(const Corpus& c) {
  std::vector<std::string> ids;
  for (const auto& d : c.documents) ids.push_back(d.id);
  return ids;
}

// Text that trips careless readers: quotes, backslashes, line breaks (\n and \r\n), tabs, non-ASCII.
const std::string kAwkward = "She said \"Call me Ishmael\\\".\r\nNext line\tand a tab.\n\nCaf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x90\x8b\n";

}  // namespace

TEST_CASE("text corpus: a .txt file is one document, read back byte for byte", "[corpus]") {
  const fs::path dir = fresh_dir("txt");
  write_file_atomic(dir / "ishmael.txt", kAwkward);
  const Corpus c = load_corpus_files(dir / "ishmael.txt");
  CHECK(c.name == "ishmael.txt");
  REQUIRE(c.size() == 1);
  CHECK(c.documents[0].id == "ishmael.txt");
  CHECK(c.documents[0].title == "ishmael");
  CHECK(c.documents[0].text == kAwkward);
  // A byte-order mark (Windows editors write one) is not text.
  write_file_atomic(dir / "bom.txt", "\xEF\xBB\xBFhello");
  CHECK(load_corpus_files(dir / "bom.txt").documents[0].text == "hello");
}

TEST_CASE("text corpus: JSONL lines round-trip; labels and other fields are ignored", "[corpus]") {
  const fs::path dir = fresh_dir("jsonl");
  const std::vector<std::string> texts = {kAwkward, "second", "", "fourth \\n is not a line break"};
  std::string content;
  for (size_t i = 0; i < texts.size(); ++i) {
    content += nlohmann::json{{"text", texts[i]}, {"label", static_cast<int>(i)}, {"source", "web"}}.dump() + "\n";
    if (i == 1) content += "\n  \n";  // blank lines are skipped but still counted
  }
  write_file_atomic(dir / "web.jsonl", content);
  const Corpus c = load_corpus_files(dir / "web.jsonl");
  REQUIRE(c.size() == 4);
  for (size_t i = 0; i < texts.size(); ++i) CHECK(c.documents[i].text == texts[i]);
  CHECK(ids_of(c) == std::vector<std::string>{"web.jsonl:1", "web.jsonl:2", "web.jsonl:5", "web.jsonl:6"});
}

TEST_CASE("text corpus: a folder reads every .txt and .jsonl under it, in path order", "[corpus]") {
  const fs::path dir = fresh_dir("folder");
  fs::create_directories(dir / "b" / "deep");
  write_file_atomic(dir / "z.txt", "zed");
  write_file_atomic(dir / "b" / "deep" / "a.txt", "deep a");
  write_file_atomic(dir / "b" / "lines.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\"}\n");
  write_file_atomic(dir / "a.txt", "first");
  write_file_atomic(dir / "README.md", "not part of the corpus");
  const Corpus c = load_corpus_files(dir);
  CHECK(c.name == "sparrow_test_corpus_folder");
  CHECK(ids_of(c) == std::vector<std::string>{"a.txt", "b/deep/a.txt", "b/lines.jsonl:1", "b/lines.jsonl:2", "z.txt"});
  std::vector<std::string> texts;
  for (const auto& d : c.documents) texts.push_back(d.text);
  CHECK(texts == std::vector<std::string>{"first", "deep a", "one", "two", "zed"});
  // Ids do not depend on where the folder lies: a copy elsewhere has the same ones.
  const fs::path copy = fresh_dir("folder_copy");
  fs::copy(dir, copy, fs::copy_options::recursive);
  CHECK(ids_of(load_corpus_files(copy)) == ids_of(c));
}

TEST_CASE("text corpus: the recipe's data section picks the loader", "[corpus]") {
  const fs::path dir = fresh_dir("spec");
  write_file_atomic(dir / "a.txt", "alpha");
  recipe::DataSpec spec;
  spec.dataset = "text";
  spec.path = (dir / "a.txt").string();
  CHECK(load_corpus(spec).documents.at(0).text == "alpha");
  spec.path.clear();
  CHECK_THROWS_WITH(load_corpus(spec), "data.path: dataset 'text' needs a .txt file, a .jsonl file or a folder of them");
  spec.dataset = "fashion_mnist";
  CHECK_THROWS_WITH(load_corpus(spec), "data.dataset: 'fashion_mnist' is not a text corpus; expected sotu, moby_dick or text");
  // A corpus is for a Llama (pipeline/causal_lm_task.h): the classification loader says so rather than "unknown dataset".
  spec.dataset = "sotu";
  CHECK_THROWS_WITH(data::load_dataset(spec, data::Split::Train),
                    "data.dataset: 'sotu' is a text corpus, which only a causal language model (model: llama) reads");
}

TEST_CASE("text corpus: golden errors for bad files", "[corpus][errors]") {
  const fs::path dir = fresh_dir("bad");
  const std::string d = dir.string();

  write_file_atomic(dir / "syntax.jsonl", "{\"text\": \"fine\"}\n{\"text\": \"cut\n");
  CHECK(error_of(dir / "syntax.jsonl").rfind(d + "/syntax.jsonl:2: not valid JSON", 0) == 0);

  write_file_atomic(dir / "no_text.jsonl", "{\"text\": \"fine\"}\n\n{\"body\": \"x\"}\n");
  CHECK(error_of(dir / "no_text.jsonl") == d + "/no_text.jsonl:3: expected an object with a string \"text\"");
  write_file_atomic(dir / "number.jsonl", "{\"text\": 42}\n");
  CHECK(error_of(dir / "number.jsonl") == d + "/number.jsonl:1: expected an object with a string \"text\"");

  write_file_atomic(dir / "empty.txt", "");
  CHECK(error_of(dir / "empty.txt") == d + "/empty.txt: empty corpus: no document holds any text");
  write_file_atomic(dir / "blank.jsonl", "\n \n");
  CHECK(error_of(dir / "blank.jsonl") == d + "/blank.jsonl: empty corpus: no documents");
  fs::create_directories(dir / "nothing");
  write_file_atomic(dir / "nothing" / "notes.md", "not a corpus file");
  CHECK(error_of(dir / "nothing") == d + "/nothing: empty corpus: no .txt or .jsonl files in the folder");

  CHECK(error_of(dir / "missing") == d + "/missing: not found; data.path for dataset 'text' is a .txt file (one document), "
                                         "a .jsonl file ({\"text\": ...} per line) or a folder of them");
  CHECK(error_of(dir / "nothing" / "notes.md") == d + "/nothing/notes.md: expected a .txt file (one document), a .jsonl "
                                                      "file ({\"text\": ...} per line) or a folder of them");
  write_file_atomic(dir / "latin1.txt", "caf\xe9");
  CHECK(error_of(dir / "latin1.txt") == d + "/latin1.txt: not valid UTF-8 text");

  // A file in a folder that cannot be read (here a link to nowhere) is named.
  fs::create_directories(dir / "broken");
  write_file_atomic(dir / "broken" / "a.txt", "fine");
  fs::create_symlink(dir / "gone.txt", dir / "broken" / "b.txt");
  const std::string broken = error_of(dir / "broken");
  CHECK(broken.rfind(d + "/broken/b.txt", 0) == 0);
}
