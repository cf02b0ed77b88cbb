#include "data/text/corpus_split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "data/text/stable_hash.h"
#include "recipe/expression.h"

namespace sparrow::data::text {

namespace {

// round(n * fraction), at least 1 when the fraction asks for any document.
size_t share(size_t n, double fraction) {
  const auto k = static_cast<size_t>(std::llround(static_cast<double>(n) * fraction));
  return fraction > 0 ? std::max<size_t>(k, 1) : k;
}

}  // namespace

SplitFractions split_fractions(const recipe::DataSpec& spec) {
  return {spec.validation_fraction, spec.test_fraction, spec.split_seed};
}

CorpusSplit split_corpus(Corpus corpus, const SplitFractions& f) {
  const auto valid = [](double x) { return x >= 0 && x < 1; };  // false for NaN too
  if (!valid(f.validation) || !valid(f.test) || !(f.validation + f.test < 1))
    throw BadInput(corpus.name + ": validation and test fractions must each be in [0, 1) and sum to less than 1, got " +
                   recipe::format_number(f.validation) + " and " + recipe::format_number(f.test));
  const size_t n = corpus.documents.size();
  const size_t n_test = share(n, f.test), n_validation = share(n, f.validation);
  if (n_test + n_validation >= n)
    throw BadInput(corpus.name + ": " + std::to_string(n) + " document" + (n == 1 ? "" : "s") +
                   " cannot be split by whole document into train, validation (" + std::to_string(n_validation) +
                   ") and test (" + std::to_string(n_test) +
                   "); give more documents (a folder of .txt files, or a .jsonl file with one per line) or set "
                   "data.validation_fraction and data.test_fraction to 0");

  const uint64_t salt = mix64(f.seed);
  std::vector<uint64_t> key(n);
  for (size_t i = 0; i < n; ++i) key[i] = mix64(fnv1a64(corpus.documents[i].id) ^ salt);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] != key[b] ? key[a] < key[b] : a < b; });

  enum Part : char { kTrain, kValidation, kTest };
  std::vector<char> part(n, kTrain);
  for (size_t r = 0; r < n_test + n_validation; ++r) part[order[r]] = r < n_test ? kTest : kValidation;

  CorpusSplit s;
  s.train.name = corpus.name + "/train";
  s.validation.name = corpus.name + "/validation";
  s.test.name = corpus.name + "/test";
  for (size_t i = 0; i < n; ++i) {
    Corpus& to = part[i] == kTest ? s.test : part[i] == kValidation ? s.validation : s.train;
    to.documents.push_back(std::move(corpus.documents[i]));
  }
  return s;
}

}  // namespace sparrow::data::text
