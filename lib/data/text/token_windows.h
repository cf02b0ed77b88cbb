#pragma once
// A text corpus as a causal language model reads it: one token stream, cut into windows of the model's context.
//
// The stream: each document in corpus order, encoded with the tokenizer's special tokens (the leading BOS of a
// Llama-style tokenizer.json), then the tokenizer's eos when it has one, so that a window crossing a document
// boundary sees where one address or chapter ends and the next begins.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/text/corpus.h"
#include "text/bpe_tokenizer.h"

namespace sparrow::data::text {

std::vector<int64_t> token_stream(const Corpus& corpus, const sparrow::text::BpeTokenizer& tokenizer);

// Consecutive, non-overlapping windows of `window` tokens over `stream` (its first `limit` windows, 0: all):
// inputs and labels [N, window] int64 (labels are the inputs; the loss shifts them), attention mask 1. The last
// window, when shorter, is padded with `pad_id`: mask 0 and label kIgnoredLabel there. task is CausalLm.
Dataset token_windows(const std::string& name, const std::vector<int64_t>& stream, int64_t window, int64_t pad_id,
                      int64_t limit = 0);

}  // namespace sparrow::data::text
