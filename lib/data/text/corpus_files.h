#pragma once
// A user's own text corpus (dataset: text, data.path):
// - a .txt file is one document (UTF-8; a leading byte-order mark is dropped);
// - a .jsonl file holds one document per line, {"text": ...} (other fields, "label" too, are ignored;
//   blank lines skipped), read by the same parser as classification JSONL (text_records.h);
// - a folder: every .txt and .jsonl file under it, at any depth, in the order of their relative paths;
//   other files are ignored.
// Ids are paths relative to the folder (or the file's name), with ":<line>" for a JSONL line, so a corpus
// splits the same wherever it lies.
#include <filesystem>

#include "data/text/corpus.h"

namespace sparrow::data::text {

// BadInput names the file (and line) for what is unreadable, not UTF-8, not JSON, or empty.
Corpus load_corpus_files(const std::filesystem::path& path);

}  // namespace sparrow::data::text
