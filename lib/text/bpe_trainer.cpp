#include "text/bpe_trainer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "text/byte_level.h"
#include "text/unicode.h"

namespace sparrow::text {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Word {
  std::vector<int32_t> symbols;
  int64_t count = 0;
};

// How often each distinct pre-tokenized piece occurs in `texts`, special tokens cut out.
std::unordered_map<std::string, int64_t> count_pieces(const std::vector<std::string>& texts,
                                                      const BpeTrainerOptions& options) {
  std::unordered_map<std::string, int64_t> counts;
  const auto add_section = [&](std::string_view section) {
    if (section.empty()) return;
    std::string prefixed;
    if (options.pre_tokenizer.add_prefix_space && section.front() != ' ') {
      prefixed = " " + std::string(section);
      section = prefixed;
    }
    if (!options.pre_tokenizer.use_regex) {
      ++counts[std::string(section)];
      return;
    }
    for (std::string_view piece : gpt2_pre_tokenize(section)) ++counts[std::string(piece)];
  };
  for (const std::string& raw : texts) {
    const std::string text = to_valid_utf8(raw);
    std::string_view rest = text;
    while (!rest.empty()) {
      size_t at = std::string_view::npos, len = 0;
      for (const std::string& s : options.special_tokens) {
        const size_t p = rest.find(s);
        if (p < at || (p == at && p != std::string_view::npos && s.size() > len)) at = p, len = s.size();
      }
      add_section(rest.substr(0, at));
      if (at == std::string_view::npos) break;
      rest.remove_prefix(at + len);
    }
  }
  return counts;
}

}  // namespace

BpeTokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options) {
  const auto specials = static_cast<int64_t>(options.special_tokens.size());
  if (options.vocab_size < 256 + specials)
    throw BadInput("BPE vocabulary size " + std::to_string(options.vocab_size) + " is too small: the 256 bytes and " +
                   std::to_string(specials) + " special tokens need " + std::to_string(256 + specials));
  std::set<std::string> distinct;
  for (const std::string& s : options.special_tokens)
    if (s.empty() || !is_valid_utf8(s) || !distinct.insert(s).second)
      throw BadInput("special token \"" + s + "\": expected a non-empty UTF-8 string given once");
  if (options.bos_token && !distinct.count(*options.bos_token))
    throw BadInput("bos token \"" + *options.bos_token + "\" is not one of the special tokens");

  BpeModel model;
  std::unordered_map<std::string, int32_t> ids;
  for (int b = 0; b < 256; ++b) {
    std::string c;
    utf8_append(c, byte_to_char(static_cast<uint8_t>(b)));
    ids.emplace(c, b);
    model.vocab.push_back(std::move(c));
  }

  std::vector<Word> words;
  for (auto& [piece, count] : count_pieces(texts, options)) {
    Word w;
    w.count = count;
    for (char c : piece) w.symbols.push_back(static_cast<uint8_t>(c));
    words.push_back(std::move(w));
  }
  // Hash order differs between libraries: sort so that word indices, and so nothing else, depend on it.
  std::sort(words.begin(), words.end(), [](const Word& a, const Word& b) { return a.symbols < b.symbols; });

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;  // may repeat a word; visits deduplicate
  const auto add_pairs = [&](int32_t w, int64_t sign, std::vector<uint64_t>* grown) {
    const Word& word = words[static_cast<size_t>(w)];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const uint64_t k = pair_key(word.symbols[i], word.symbols[i + 1]);
      pair_count[k] += sign * word.count;
      if (sign > 0) {
        pair_words[k].push_back(w);
        if (grown) grown->push_back(k);
      }
    }
  };
  for (size_t w = 0; w < words.size(); ++w) add_pairs(static_cast<int32_t>(w), 1, nullptr);

  // Most frequent first; among equals the smaller left id, then the smaller right id.
  using Entry = std::tuple<int64_t, int64_t, int64_t>;  // count, -left, -right
  std::priority_queue<Entry> queue;
  const auto push = [&](uint64_t k) {
    queue.emplace(pair_count[k], -static_cast<int64_t>(k >> 32), -static_cast<int64_t>(k & 0xFFFFFFFFu));
  };
  for (const auto& [k, c] : pair_count)
    if (c > 0) push(k);

  std::unordered_set<uint64_t> merged_pairs;
  std::vector<int32_t> visited(words.size(), -1);
  const int64_t model_target = options.vocab_size - specials;
  for (int32_t step = 0; static_cast<int64_t>(model.vocab.size()) < model_target && !queue.empty(); ++step) {
    const auto [count, neg_left, neg_right] = queue.top();
    queue.pop();
    const auto left = static_cast<int32_t>(-neg_left), right = static_cast<int32_t>(-neg_right);
    const uint64_t key = pair_key(left, right);
    const int64_t now = pair_count[key];
    if (now <= 0) continue;
    if (now != count) {  // counted again since it was queued
      push(key);
      continue;
    }
    // Two merges may spell one token ("ab"+"c", "a"+"bc"): it keeps its first id, as in Hugging Face.
    const std::string spelled = model.vocab[static_cast<size_t>(left)] + model.vocab[static_cast<size_t>(right)];
    auto [it, is_new] = ids.emplace(spelled, static_cast<int32_t>(model.vocab.size()));
    if (is_new) model.vocab.push_back(spelled);
    const int32_t merged = it->second;
    // A pair that comes back after a merge re-used an id merges as its first rank says, so it is not listed twice.
    if (merged_pairs.insert(key).second)
      model.merges.emplace_back(model.vocab[static_cast<size_t>(left)], model.vocab[static_cast<size_t>(right)]);

    std::vector<uint64_t> grown;
    std::vector<int32_t> holders;
    holders.swap(pair_words[key]);
    for (int32_t w : holders) {
      if (visited[static_cast<size_t>(w)] == step) continue;
      visited[static_cast<size_t>(w)] = step;
      add_pairs(w, -1, nullptr);
      std::vector<int32_t>& s = words[static_cast<size_t>(w)].symbols;
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
          s[out++] = merged;
          ++i;
        } else {
          s[out++] = s[i];
        }
      }
      s.resize(out);
      add_pairs(w, 1, &grown);
    }
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t k : grown) push(k);
  }

  std::vector<AddedToken> added;
  for (const std::string& s : options.special_tokens) {
    AddedToken a;
    a.content = s;
    a.id = static_cast<int64_t>(model.vocab.size() + added.size());
    added.push_back(std::move(a));
  }
  PostProcessor post;
  if (options.bos_token) {
    int64_t bos = 0;
    for (const AddedToken& a : added)
      if (a.content == *options.bos_token) bos = a.id;
    post.before = {bos};
    nlohmann::ordered_json j;  // Hugging Face's TemplateProcessing for "BOS $A" (and "BOS $A BOS $B")
    const auto special = [&] {
      return nlohmann::ordered_json{{"SpecialToken", {{"id", *options.bos_token}, {"type_id", 0}}}};
    };
    const auto sequence = [](const char* id, int type) {
      return nlohmann::ordered_json{{"Sequence", {{"id", id}, {"type_id", type}}}};
    };
    j["type"] = "TemplateProcessing";
    j["single"] = {special(), sequence("A", 0)};
    j["pair"] = {special(), sequence("A", 0), special(), sequence("B", 1)};
    j["special_tokens"][*options.bos_token] = {
        {"id", *options.bos_token}, {"ids", {bos}}, {"tokens", {*options.bos_token}}};
    post.json = j.dump();
  } else {
    // GPT-2's own post-processor: ByteLevel, which adds nothing.
    post.json = R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true})";
  }
  return BpeTokenizer(std::move(model), std::move(added), options.pre_tokenizer, std::move(post), "BPE trainer");
}

}  // namespace sparrow::text
