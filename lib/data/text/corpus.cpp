#include "data/text/corpus.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "data/text/corpus_files.h"
#include "data/text/npm_corpora.h"

namespace sparrow::data::text {

void require_text(const Corpus& corpus, const std::string& where) {
  const bool any = std::any_of(corpus.documents.begin(), corpus.documents.end(),
                               [](const Document& d) { return !d.text.empty(); });
  if (!any)
    throw BadInput(where + ": empty corpus: " +
                   (corpus.documents.empty() ? std::string("no documents") : "no document holds any text"));
}

Corpus load_corpus(const recipe::DataSpec& spec) {
  Corpus c;
  if (spec.dataset == "sotu") {
    c = load_sotu(spec.path.empty() ? default_sotu_dir() : std::filesystem::path(spec.path));
  } else if (spec.dataset == "moby_dick") {
    c = load_moby_dick(spec.path.empty() ? default_moby_dick_dir() : std::filesystem::path(spec.path));
  } else if (spec.dataset == "text") {
    if (spec.path.empty())
      throw BadInput("data.path: dataset 'text' needs a .txt file, a .jsonl file or a folder of them");
    c = load_corpus_files(spec.path);
  } else {
    throw BadInput("data.dataset: '" + spec.dataset + "' is not a text corpus; expected sotu, moby_dick or text");
  }
  int64_t bytes = 0;
  for (const auto& d : c.documents) bytes += static_cast<int64_t>(d.text.size());
  spdlog::info("{}: {} documents, {:.2f} MB of text", c.name, c.size(), static_cast<double>(bytes) / 1e6);
  return c;
}

}  // namespace sparrow::data::text
