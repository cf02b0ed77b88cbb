#pragma once
// Train / validation / test parts of a corpus, by whole document, so that no text a model is measured on
// was trained on. The same corpus, fractions and seed give the same parts on every machine.
//
// The rule: each document gets the key mix64(fnv1a64(id) ^ mix64(seed)) (stable_hash.h). In key order
// (ties: corpus order) the first round(n * test_fraction) documents are the test part, the next
// round(n * validation_fraction) the validation part, the rest train; a part with a fraction above 0 gets
// at least one document, and train always does. Each part keeps the corpus's order.
#include <cstdint>

#include "data/text/corpus.h"
#include "recipe/recipe.h"

namespace sparrow::data::text {

struct SplitFractions {
  double validation = 0.1;
  double test = 0.1;
  uint64_t seed = 0;
};

// The recipe's data.validation_fraction, data.test_fraction and data.split_seed.
SplitFractions split_fractions(const recipe::DataSpec& spec);

struct CorpusSplit {
  Corpus train, validation, test;  // named "<corpus>/train" and so on
};

// BadInput when the fractions are outside [0, 1) or sum to 1 or more, or when the corpus has too few
// documents to give every part its share (one .txt file, say).
CorpusSplit split_corpus(Corpus corpus, const SplitFractions& fractions);

}  // namespace sparrow::data::text
