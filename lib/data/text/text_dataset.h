#pragma once
// Text classification data: raw texts and labels, loaded from the SpamAssassin
// corpus or from JSONL / CSV files, and encoded into token ids by a tokenizer.
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/text/text_records.h"
#include "text/tokenizer.h"
#include "recipe/recipe.h"

namespace sparrow::data::text {

// Names load_text_dataset understands: spam_assassin, jsonl, csv.
bool is_text_dataset(const std::string& dataset);

// The recipe's text dataset, one split of it, honouring data.path and the limits.
// jsonl/csv: data.path is a file (split 80/20 by a hash of each text) or a folder
// holding train.<ext> and test.<ext>.
TextDataset load_text_dataset(const recipe::DataSpec& spec, Split split);

// A whole JSONL ({"text": ..., "label": ...} per line) or CSV file (a header
// naming "text" and "label" columns). Labels may be integers (ids) or strings
// (names, numbered in sorted order). A malformed line is BadInput naming file and line.
TextDataset load_jsonl(const std::filesystem::path& file);
TextDataset load_csv(const std::filesystem::path& file);
// Picks by extension (.jsonl / .csv).
TextDataset load_text_file(const std::filesystem::path& file);

// Token ids [N, max_length] and attention mask [N, max_length] (int64).
Dataset encode_dataset(const TextDataset& texts, const sparrow::text::Tokenizer& tokenizer, int64_t max_length);

}  // namespace sparrow::data::text
