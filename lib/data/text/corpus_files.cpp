#include "data/text/corpus_files.h"

#include <algorithm>
#include <string_view>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/text_records.h"
#include "text/unicode.h"

namespace sparrow::data::text {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

const char* const kExpected = "a .txt file (one document), a .jsonl file ({\"text\": ...} per line) or a folder of them";

// Appends the documents of one file, named `name` (its path relative to the corpus root).
void add_file(const std::filesystem::path& file, const std::string& name, Corpus& corpus) {
  const auto ext = file.extension().string();
  std::string content = read_file(file);
  if (ext == ".txt") {
    if (std::string_view(content).substr(0, kUtf8Bom.size()) == kUtf8Bom) content.erase(0, kUtf8Bom.size());
    if (!sparrow::text::is_valid_utf8(content)) throw BadInput(file.string() + ": not valid UTF-8 text");
    corpus.documents.push_back({name, file.stem().string(), std::move(content)});
    return;
  }
  if (ext != ".jsonl") throw BadInput(file.string() + ": expected " + kExpected);
  TextRecords records = parse_jsonl(content, file.string(), JsonlLabels::Ignored);
  for (size_t i = 0; i < records.texts.size(); ++i) {
    const std::string id = name + ":" + std::to_string(records.lines[i]);
    corpus.documents.push_back({id, id, std::move(records.texts[i])});
  }
}

}  // namespace

Corpus load_corpus_files(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw BadInput(path.string() + ": not found; data.path for dataset 'text' is " + kExpected);
  Corpus corpus;
  corpus.name = path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
  if (!std::filesystem::is_directory(status)) {
    add_file(path, path.filename().string(), corpus);
  } else {
    std::vector<std::pair<std::string, std::filesystem::path>> files;
    try {
      for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
        const auto ext = e.path().extension();
        if ((ext == ".txt" || ext == ".jsonl") && !e.is_directory())
          files.emplace_back(e.path().lexically_relative(path).generic_string(), e.path());
      }
    } catch (const std::filesystem::filesystem_error& ex) {
      throw BadInput(path.string() + ": cannot list the folder: " + ex.code().message());
    }
    if (files.empty()) throw BadInput(path.string() + ": empty corpus: no .txt or .jsonl files in the folder");
    std::sort(files.begin(), files.end());
    for (const auto& [name, file] : files) add_file(file, name, corpus);
  }
  require_text(corpus, path.string());
  return corpus;
}

}  // namespace sparrow::data::text
