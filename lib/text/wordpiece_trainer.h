#pragma once
// Builds a WordPiece vocabulary from a corpus, for models trained from scratch.
// Like Hugging Face's WordPieceTrainer: words from the basic tokenizer start as
// characters ("a", "##b", ...), and the most frequent adjacent pair is merged
// (BPE-style) until the vocabulary is full. Deterministic for a given corpus.
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace sparrow::text {

struct WordPieceTrainerOptions {
  int64_t vocab_size = 8000;
  int64_t min_frequency = 2;    // pairs (and words) seen fewer times are never merged
  int64_t limit_alphabet = 1000;  // most frequent characters kept; words with others are skipped
  std::vector<std::string> special_tokens = {Tokenizer::kPad, Tokenizer::kUnk, Tokenizer::kCls, Tokenizer::kSep,
                                             Tokenizer::kMask};
};

// vocab[i] is the token of id i: the special tokens first, then the alphabet, then merges.
std::vector<std::string> train_wordpiece(const std::vector<std::string>& texts, const BasicTokenizerOptions& basic,
                                         const WordPieceTrainerOptions& options);

}  // namespace sparrow::text
