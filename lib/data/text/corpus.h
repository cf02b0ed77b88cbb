#pragma once
// A text corpus for language models: whole documents in reading order, each named by an id unique in the
// corpus (the split hashes it, so it must not depend on where the corpus lies) and titled for people.
// Plain text, no LibTorch: tokenizing and cutting into training windows belong to the training step.
#include <cstdint>
#include <string>
#include <vector>

#include "recipe/recipe.h"

namespace sparrow::data::text {

struct Document {
  std::string id;     // "1861_abraham_lincoln_r", "chapter_42", "notes/a.txt", "web.jsonl:17"
  std::string title;  // "1861 Abraham Lincoln (Republican)", "Chapter 42. The Whiteness of The Whale."
  std::string text;   // UTF-8
};

struct Corpus {
  std::string name;  // "sotu", "moby_dick", or the file or folder name
  std::vector<Document> documents;

  int64_t size() const { return static_cast<int64_t>(documents.size()); }
};

// The corpus a recipe names (recipe::is_corpus_dataset): sotu and moby_dick from data.path or the npm
// install (third_party/setup.sh), text from data.path (corpus_files.h). Split it with split_corpus.
Corpus load_corpus(const recipe::DataSpec& spec);

// A loaded corpus must hold some text: BadInput "<where>: empty corpus ..." otherwise.
void require_text(const Corpus& corpus, const std::string& where);

}  // namespace sparrow::data::text
