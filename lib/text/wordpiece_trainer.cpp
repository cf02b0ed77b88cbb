#include "text/wordpiece_trainer.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/errors.h"
#include "text/unicode.h"

namespace sparrow::text {

namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

struct Candidate {
  int64_t count;
  uint64_t key;
  // Highest count first; ties go to the smaller key so the result is deterministic.
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : key > o.key; }
};

}  // namespace

std::vector<std::string> train_wordpiece(const std::vector<std::string>& texts, const BasicTokenizerOptions& basic,
                                         const WordPieceTrainerOptions& options) {
  if (options.vocab_size <= static_cast<int64_t>(options.special_tokens.size()))
    throw BadInput("vocab_size " + std::to_string(options.vocab_size) + " leaves no room beyond the special tokens");

  std::unordered_map<std::string, int64_t> word_counts;
  for (const auto& text : texts)
    for (auto& w : basic_tokenize(text, basic)) ++word_counts[std::move(w)];

  // Alphabet: the most frequent characters (ties by code point).
  std::map<char32_t, int64_t> char_counts;
  std::vector<std::pair<std::vector<char32_t>, int64_t>> words;  // sorted by word for determinism
  {
    std::map<std::string, int64_t> sorted(word_counts.begin(), word_counts.end());
    for (const auto& [w, n] : sorted) {
      auto cps = utf8_decode(w);
      if (cps.size() > Tokenizer::kMaxCharsPerWord) continue;
      for (char32_t cp : cps) char_counts[cp] += n;
      words.emplace_back(std::move(cps), n);
    }
  }
  std::vector<std::pair<char32_t, int64_t>> alphabet(char_counts.begin(), char_counts.end());
  std::stable_sort(alphabet.begin(), alphabet.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (static_cast<int64_t>(alphabet.size()) > options.limit_alphabet)
    alphabet.resize(static_cast<size_t>(options.limit_alphabet));
  std::set<char32_t> kept;
  for (const auto& [cp, n] : alphabet) kept.insert(cp);

  std::vector<std::string> vocab = options.special_tokens;
  std::unordered_map<std::string, int32_t> symbol_ids;
  std::vector<std::string> symbols;  // symbol id -> token text ("##" marks a continuation)
  const auto symbol = [&](const std::string& s) {
    const auto [it, inserted] = symbol_ids.emplace(s, static_cast<int32_t>(symbols.size()));
    if (inserted) symbols.push_back(s);
    return it->second;
  };
  std::set<std::string> in_vocab(vocab.begin(), vocab.end());
  const auto add_to_vocab = [&](const std::string& s) {
    if (in_vocab.insert(s).second) vocab.push_back(s);
  };

  // Each word as a list of symbol ids; both forms of every alphabet character go into the vocabulary.
  std::vector<std::vector<int32_t>> pieces;
  std::vector<int64_t> counts;
  for (const auto& [cp, n] : alphabet) {
    std::string c;
    utf8_append(c, cp);
    add_to_vocab(c);
    add_to_vocab("##" + c);
  }
  for (const auto& [cps, n] : words) {
    if (!std::all_of(cps.begin(), cps.end(), [&](char32_t cp) { return kept.count(cp) > 0; })) continue;
    std::vector<int32_t> p;
    for (size_t i = 0; i < cps.size(); ++i) {
      std::string c = i ? "##" : "";
      utf8_append(c, cps[i]);
      p.push_back(symbol(c));
    }
    pieces.push_back(std::move(p));
    counts.push_back(n);
  }

  // Pair counts and, for each pair, the words that (may) contain it.
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t w = 0; w < pieces.size(); ++w)
    for (size_t i = 0; i + 1 < pieces[w].size(); ++i) {
      const uint64_t k = pair_key(pieces[w][i], pieces[w][i + 1]);
      pair_counts[k] += counts[w];
      where[k].push_back(static_cast<int32_t>(w));
    }
  std::priority_queue<Candidate> queue;
  for (const auto& [k, n] : pair_counts) queue.push({n, k});

  const auto target = static_cast<size_t>(options.vocab_size);
  while (vocab.size() < target && !queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const auto current = pair_counts.find(top.key);
    if (current == pair_counts.end() || current->second != top.count) continue;  // stale entry
    if (top.count < options.min_frequency) break;
    const auto a = static_cast<int32_t>(top.key >> 32), b = static_cast<int32_t>(top.key & 0xffffffffu);
    const std::string& right = symbols[static_cast<size_t>(b)];
    const std::string merged_text = symbols[static_cast<size_t>(a)] + (right.rfind("##", 0) == 0 ? right.substr(2) : right);
    const int32_t merged = symbol(merged_text);
    add_to_vocab(merged_text);

    std::map<uint64_t, int64_t> delta;
    std::vector<int32_t> word_list = std::move(where[top.key]);
    where.erase(top.key);
    std::sort(word_list.begin(), word_list.end());
    word_list.erase(std::unique(word_list.begin(), word_list.end()), word_list.end());
    for (int32_t w : word_list) {
      auto& p = pieces[static_cast<size_t>(w)];
      const int64_t n = counts[static_cast<size_t>(w)];
      bool changed = false;
      std::vector<int32_t> next;
      next.reserve(p.size());
      for (size_t i = 0; i < p.size(); ++i) {
        if (i + 1 < p.size() && p[i] == a && p[i + 1] == b) {
          next.push_back(merged);
          ++i;
          changed = true;
        } else {
          next.push_back(p[i]);
        }
      }
      if (!changed) continue;
      for (size_t i = 0; i + 1 < p.size(); ++i) delta[pair_key(p[i], p[i + 1])] -= n;
      for (size_t i = 0; i + 1 < next.size(); ++i) {
        const uint64_t k = pair_key(next[i], next[i + 1]);
        delta[k] += n;
        where[k].push_back(w);
      }
      p = std::move(next);
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      auto& c = pair_counts[k];
      c += d;
      if (c <= 0) {
        pair_counts.erase(k);
      } else {
        queue.push({c, k});
      }
    }
  }
  return vocab;
}

}  // namespace sparrow::text
