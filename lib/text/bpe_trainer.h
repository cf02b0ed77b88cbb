#pragma once
// Learns a byte-level BPE vocabulary from text, as Hugging Face's BpeTrainer does
// for GPT-2-style tokenizers: the 256 byte symbols first (ids 0..255, in byte
// order), then merges of the most frequent adjacent pair over the pre-tokenized
// words, then the caller's special tokens (GPT-2's <|endoftext|> comes last too).
//
// Tie-break: among pairs of equal count the one with the smaller (left id,
// right id) merges first, so a run is deterministic. Pair counts are updated
// incrementally: a merge revisits only the words that hold the pair.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/bpe_tokenizer.h"

namespace sparrow::text {

struct BpeTrainerOptions {
  int64_t vocab_size = 0;                   // bytes + merges + special tokens; at least 256 + specials
  std::vector<std::string> special_tokens;  // e.g. {"<|endoftext|>"}; never split, never learned from
  // A special token every encoded text starts with (a TemplateProcessing post-processor, as Llama's
  // files have); unset: a ByteLevel post-processor as GPT-2's files have.
  std::optional<std::string> bos_token;
  ByteLevelOptions pre_tokenizer;
};

// Stops early, with a smaller vocabulary, when no adjacent pair is left to merge.
// Bad options (vocab_size too small, an empty or repeated special token, a bos
// token that is not special) are BadInput.
BpeTokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options);

}  // namespace sparrow::text
