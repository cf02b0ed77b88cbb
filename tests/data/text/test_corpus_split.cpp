// Splitting a corpus by whole document: deterministic for a seed on every machine, disjoint, complete.
#include <catch2/catch.hpp>

#include <set>

#include "core/errors.h"
#include "data/text/corpus_split.h"

using namespace sparrow;
using namespace sparrow::data::text;

namespace {

Corpus numbered(size_t n) {
  Corpus c;
  c.name = "toy";
  for (size_t i = 0; i < n; ++i) c.documents.push_back({"doc-" + std::to_string(i), "", "text " + std::to_string(i)});
  return c;
}

std::vector<std::string> ids_of(const Corpus& c) {
  std::vector<std::string> ids;
  for (const auto& d : c.documents) ids.push_back(d.id);
  return ids;
}

}  // namespace

TEST_CASE("split: golden parts from an independent implementation of the rule", "[corpus][split]") {
  // Expected parts computed by a separate Python implementation of the rule documented in corpus_split.h
  // (FNV-1a 64 of the id, xor SplitMix64(seed), SplitMix64 finalizer, sort, round(n * fraction)); they hold
  // on any machine because the rule uses only 64-bit integer arithmetic.
  const auto s0 = split_corpus(numbered(20), {0.1, 0.1, 0});
  CHECK(ids_of(s0.test) == std::vector<std::string>{"doc-5", "doc-6"});
  CHECK(ids_of(s0.validation) == std::vector<std::string>{"doc-1", "doc-14"});
  CHECK(s0.train.size() == 16);
  const auto s7 = split_corpus(numbered(20), {0.1, 0.1, 7});
  CHECK(ids_of(s7.test) == std::vector<std::string>{"doc-11", "doc-14"});
  CHECK(ids_of(s7.validation) == std::vector<std::string>{"doc-0", "doc-9"});
  CHECK(s0.train.name == "toy/train");
  CHECK(s0.validation.name == "toy/validation");
  CHECK(s0.test.name == "toy/test");
}

TEST_CASE("split: same seed same parts, another seed other parts, disjoint, complete, in corpus order", "[corpus][split]") {
  const Corpus c = numbered(500);
  const auto a = split_corpus(c, {});
  const auto b = split_corpus(c, {});
  CHECK(ids_of(a.train) == ids_of(b.train));
  CHECK(ids_of(a.validation) == ids_of(b.validation));
  CHECK(ids_of(a.test) == ids_of(b.test));
  CHECK(a.train.size() == 400);
  CHECK(a.validation.size() == 50);
  CHECK(a.test.size() == 50);

  std::set<std::string> seen;
  for (const Corpus* part : {&a.train, &a.validation, &a.test}) {
    std::vector<size_t> positions;
    for (const auto& d : part->documents) {
      CHECK(seen.insert(d.id).second);  // in no other part
      positions.push_back(std::stoul(d.id.substr(4)));
      CHECK(d.text == "text " + d.id.substr(4));  // whole documents, text with them
    }
    CHECK(std::is_sorted(positions.begin(), positions.end()));
  }
  CHECK(seen.size() == 500);

  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto other = split_corpus(c, {0.1, 0.1, seed});
    CHECK(ids_of(other.test) != ids_of(a.test));
    CHECK(ids_of(other.validation) != ids_of(a.validation));
  }
  // Held-out documents are spread over the corpus, not taken from one end.
  const auto test_ids = ids_of(a.test);
  size_t first_half = 0;
  for (const auto& id : test_ids) first_half += std::stoul(id.substr(4)) < 250;
  CHECK(first_half > 15);
  CHECK(first_half < 35);
}

TEST_CASE("split: shares round to whole documents, at least one per part asked for", "[corpus][split]") {
  const auto sizes = [](size_t n, double validation, double test) {
    const auto s = split_corpus(numbered(n), {validation, test, 0});
    return std::vector<int64_t>{s.train.size(), s.validation.size(), s.test.size()};
  };
  CHECK(sizes(7, 0.1, 0.1) == std::vector<int64_t>{5, 1, 1});
  CHECK(sizes(3, 0.1, 0.1) == std::vector<int64_t>{1, 1, 1});
  CHECK(sizes(233, 0.1, 0.1) == std::vector<int64_t>{187, 23, 23});
  CHECK(sizes(100, 0.0, 0.25) == std::vector<int64_t>{75, 0, 25});
  CHECK(sizes(1, 0.0, 0.0) == std::vector<int64_t>{1, 0, 0});
}

TEST_CASE("split: golden errors", "[corpus][split][errors]") {
  CHECK_THROWS_WITH(split_corpus(numbered(2), {}),
                    "toy: 2 documents cannot be split by whole document into train, validation (1) and test (1); give "
                    "more documents (a folder of .txt files, or a .jsonl file with one per line) or set "
                    "data.validation_fraction and data.test_fraction to 0");
  CHECK_THROWS_WITH(split_corpus(numbered(1), {}),
                    Catch::StartsWith("toy: 1 document cannot be split by whole document"));
  CHECK_THROWS_WITH(split_corpus(numbered(10), {0.5, 0.5, 0}),
                    "toy: validation and test fractions must each be in [0, 1) and sum to less than 1, got 0.5 and 0.5");
  CHECK_THROWS_AS(split_corpus(numbered(10), {-0.1, 0.1, 0}), BadInput);
}
