#include "text/bpe_tokenizer.h"

#include <functional>
#include <queue>
#include <tuple>

#include "core/errors.h"
#include "text/byte_level.h"
#include "text/unicode.h"

namespace sparrow::text {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// The code point starting at s[i] and its length in bytes (s is valid UTF-8).
char32_t code_point_at(std::string_view s, size_t i, size_t& len) {
  const auto b = static_cast<unsigned char>(s[i]);
  len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  return utf8_decode(s.substr(i, len)).front();
}

std::string_view trim_start(std::string_view s) {
  size_t len = 0;
  while (!s.empty() && is_regex_space(code_point_at(s, 0, len))) s.remove_prefix(len);
  return s;
}

std::string_view trim_end(std::string_view s) {
  while (!s.empty()) {
    size_t start = s.size() - 1, len = 0;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (!is_regex_space(code_point_at(s, start, len))) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

// Pieces of text cached per tokenizer before the cache is cleared and starts again.
constexpr size_t kCacheEntries = 1 << 16;

}  // namespace

BpeTokenizer::BpeTokenizer(BpeModel model, std::vector<AddedToken> added, ByteLevelOptions pre_tokenizer,
                           PostProcessor post, const std::string& source)
    : model_(std::move(model)), added_(std::move(added)), pre_(pre_tokenizer), post_(std::move(post)) {
  const auto fail = [&](const std::string& what) { throw BadInput(source + ": " + what); };
  const auto model_size = static_cast<int64_t>(model_.vocab.size());
  if (model_size == 0) fail("model.vocab: expected at least one token, found none");
  tokens_ = model_.vocab;
  for (int64_t id = 0; id < model_size; ++id) {
    const auto [it, inserted] = ids_.emplace(model_.vocab[static_cast<size_t>(id)], id);
    if (!inserted)
      fail("model.vocab: token " + in_quotes(it->first) + " has two ids, " + std::to_string(it->second) + " and " +
           std::to_string(id));
  }

  // Added tokens: either a model token under its own id, or a new id after the model's.
  std::vector<const AddedToken*> beyond;
  std::unordered_map<std::string, size_t> added_content;
  for (size_t i = 0; i < added_.size(); ++i) {
    const AddedToken& a = added_[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (a.content.empty()) fail(field + ".content: expected a non-empty string");
    if (!is_valid_utf8(a.content)) fail(field + ".content: expected valid UTF-8");
    if (!added_content.emplace(a.content, i).second)
      fail(field + ".content: " + in_quotes(a.content) + " is added twice");
    if (a.id < 0) fail(field + ".id: expected a non-negative id, found " + std::to_string(a.id));
    if (a.id < model_size) {
      if (model_.vocab[static_cast<size_t>(a.id)] != a.content)
        fail(field + ": id " + std::to_string(a.id) + " is the model's token " +
             in_quotes(model_.vocab[static_cast<size_t>(a.id)]) + ", not " + in_quotes(a.content));
    } else {
      beyond.push_back(&a);
    }
  }
  tokens_.resize(static_cast<size_t>(model_size) + beyond.size());
  for (const AddedToken* a : beyond) {
    if (a->id >= size())
      fail("added_tokens: id " + std::to_string(a->id) + " of " + in_quotes(a->content) +
           " is out of range: ids must run " + "from 0 to " + std::to_string(size() - 1) + " without gaps");
    std::string& slot = tokens_[static_cast<size_t>(a->id)];
    if (!slot.empty())
      fail("added_tokens: id " + std::to_string(a->id) + " is given to " + in_quotes(slot) + " and " +
           in_quotes(a->content));
    slot = a->content;
  }
  added_of_id_.assign(tokens_.size(), -1);
  for (size_t i = 0; i < added_.size(); ++i) {
    added_of_id_[static_cast<size_t>(added_[i].id)] = static_cast<int64_t>(i);
    ids_[added_[i].content] = added_[i].id;  // as in Hugging Face, an added token's content names it
    added_by_first_byte_[static_cast<uint8_t>(added_[i].content.front())].push_back(i);
  }

  for (int b = 0; b < 256; ++b) {
    std::string c;
    utf8_append(c, byte_to_char(static_cast<uint8_t>(b)));
    const auto it = ids_.find(c);
    byte_ids_[static_cast<size_t>(b)] =
        it != ids_.end() && it->second < model_size ? static_cast<int32_t>(it->second) : -1;
  }

  for (size_t rank = 0; rank < model_.merges.size(); ++rank) {
    const auto& [left, right] = model_.merges[rank];
    const std::string field = "model.merges[" + std::to_string(rank) + "]";
    const auto model_id = [&](const std::string& t) -> int32_t {
      const auto it = ids_.find(t);
      if (it == ids_.end() || it->second >= model_size)
        fail(field + ": " + in_quotes(left + " " + right) + " names " + in_quotes(t) + ", which is not in model.vocab");
      return static_cast<int32_t>(it->second);
    };
    const int32_t l = model_id(left), r = model_id(right), merged = model_id(left + right);
    const auto [it, inserted] = merges_.emplace(pair_key(l, r), Merge{static_cast<int32_t>(rank), merged});
    if (!inserted)
      fail(field + ": " + in_quotes(left + " " + right) + " repeats merge " + std::to_string(it->second.rank));
  }

  if (model_.unk_token) {
    const auto it = ids_.find(*model_.unk_token);
    if (it == ids_.end()) fail("model.unk_token: " + in_quotes(*model_.unk_token) + " is not in the vocabulary");
    special_.unk = it->second;
  }
  for (const auto* ids : {&post_.before, &post_.after})
    for (int64_t id : *ids)
      if (id < 0 || id >= size())
        fail("post_processor: special token id " + std::to_string(id) + " is out of range (vocabulary of " +
             std::to_string(size()) + ")");
  if (!post_.before.empty()) special_.bos = post_.before.front();
  if (!post_.after.empty()) special_.eos = post_.after.back();
  // The one special token left over ends texts (and starts them, without a template: GPT-2's <|endoftext|>).
  std::vector<int64_t> others;
  for (const AddedToken& a : added_)
    if (a.special && a.id != special_.bos && a.id != special_.unk) others.push_back(a.id);
  if (others.size() == 1 && !special_.eos) {
    special_.eos = others.front();
    if (!special_.bos) special_.bos = others.front();
  }
}

void BpeTokenizer::set_special_ids(const SpecialIds& ids) {
  for (const auto& id : {ids.bos, ids.eos, ids.pad, ids.unk})
    if (id && (*id < 0 || *id >= size()))
      throw BadInput("special token id " + std::to_string(*id) + " is out of range (vocabulary of " +
                     std::to_string(size()) + ")");
  special_ = ids;
}

std::optional<int64_t> BpeTokenizer::id(const std::string& token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string& BpeTokenizer::token(int64_t id) const {
  if (id < 0 || id >= size())
    throw BadInput("token id " + std::to_string(id) + " is out of range (vocabulary of " + std::to_string(size()) +
                   ")");
  return tokens_[static_cast<size_t>(id)];
}

std::vector<int32_t> BpeTokenizer::bpe(std::string_view piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    const auto it = cache_->ids.find(std::string(piece));
    if (it != cache_->ids.end()) return it->second;
  }
  std::vector<int32_t> out;
  const auto whole = model_.ignore_merges ? ids_.find(bytes_to_chars(piece)) : ids_.end();
  if (whole != ids_.end()) {
    out.push_back(static_cast<int32_t>(whole->second));
  } else {
    // Symbols in a linked list; the pair of lowest rank merges first, the leftmost among equals.
    const auto n = static_cast<int32_t>(piece.size());
    std::vector<int32_t> sym(piece.size()), next(piece.size()), prev(piece.size());
    for (int32_t i = 0; i < n; ++i) {
      sym[static_cast<size_t>(i)] = byte_ids_[static_cast<uint8_t>(piece[static_cast<size_t>(i)])];
      next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
      prev[static_cast<size_t>(i)] = i - 1;
    }
    using Candidate = std::tuple<int32_t, int32_t, int32_t, int32_t>;  // rank, position, left id, right id
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    const auto offer = [&](int32_t i) {
      const int32_t j = next[static_cast<size_t>(i)];
      if (j < 0) return;
      const auto it = merges_.find(pair_key(sym[static_cast<size_t>(i)], sym[static_cast<size_t>(j)]));
      if (it != merges_.end())
        queue.emplace(it->second.rank, i, sym[static_cast<size_t>(i)], sym[static_cast<size_t>(j)]);
    };
    for (int32_t i = 0; i + 1 < n; ++i) offer(i);
    while (!queue.empty()) {
      const auto [rank, i, left, right] = queue.top();
      queue.pop();
      const int32_t j = next[static_cast<size_t>(i)];
      // A symbol's id only grows longer, so a stale candidate never matches again.
      if (j < 0 || sym[static_cast<size_t>(i)] != left || sym[static_cast<size_t>(j)] != right) continue;
      sym[static_cast<size_t>(i)] = merges_.at(pair_key(left, right)).id;
      next[static_cast<size_t>(i)] = next[static_cast<size_t>(j)];
      if (next[static_cast<size_t>(j)] >= 0) prev[static_cast<size_t>(next[static_cast<size_t>(j)])] = i;
      sym[static_cast<size_t>(j)] = -2;  // gone
      if (prev[static_cast<size_t>(i)] >= 0) offer(prev[static_cast<size_t>(i)]);
      offer(i);
    }
    for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = next[static_cast<size_t>(i)])
      out.push_back(sym[static_cast<size_t>(i)]);
  }
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->ids.size() >= kCacheEntries) cache_->ids.clear();
  cache_->ids.emplace(std::string(piece), out);
  return out;
}

void BpeTokenizer::encode_section(std::string_view section, std::vector<int64_t>& out) const {
  if (section.empty()) return;
  std::string prefixed;
  if (pre_.add_prefix_space && section.front() != ' ') {
    prefixed = " " + std::string(section);
    section = prefixed;
  }
  const std::vector<std::string_view> pieces =
      pre_.use_regex ? gpt2_pre_tokenize(section) : std::vector<std::string_view>{section};
  bool last_unk = false;
  for (std::string_view piece : pieces)
    for (int32_t id : bpe(piece)) {
      // A byte the vocabulary lacks: unk if the model has one (once per run with fuse_unk), else dropped.
      if (id < 0) {
        if (special_.unk && !(model_.fuse_unk && last_unk)) out.push_back(*special_.unk);
        last_unk = true;
        continue;
      }
      out.push_back(id);
      last_unk = false;
    }
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const std::string valid = to_valid_utf8(text);
  const std::string_view t = valid;
  // Split out added tokens: at each position the longest one that matches, leftmost first.
  struct Section {
    std::string_view text;
    int64_t added;  // index into added_, or -1 for text
  };
  std::vector<Section> sections;
  size_t start = 0;
  for (size_t i = 0; i < t.size();) {
    int64_t best = -1;
    for (size_t a : added_by_first_byte_[static_cast<uint8_t>(t[i])]) {
      const std::string& c = added_[a].content;
      if (c.size() <= t.size() - i && t.compare(i, c.size(), c) == 0 &&
          (best < 0 || c.size() > added_[static_cast<size_t>(best)].content.size()))
        best = static_cast<int64_t>(a);
    }
    if (best < 0) {
      ++i;
      continue;
    }
    if (i > start) sections.push_back({t.substr(start, i - start), -1});
    sections.push_back({t.substr(i, added_[static_cast<size_t>(best)].content.size()), best});
    i += added_[static_cast<size_t>(best)].content.size();
    start = i;
  }
  if (start < t.size()) sections.push_back({t.substr(start), -1});
  for (size_t k = 0; k < sections.size(); ++k) {
    if (sections[k].added < 0) continue;
    const AddedToken& a = added_[static_cast<size_t>(sections[k].added)];
    if (a.lstrip && k > 0 && sections[k - 1].added < 0) sections[k - 1].text = trim_end(sections[k - 1].text);
    if (a.rstrip && k + 1 < sections.size() && sections[k + 1].added < 0)
      sections[k + 1].text = trim_start(sections[k + 1].text);
  }

  std::vector<int64_t> ids;
  if (add_special_tokens) ids = post_.before;
  for (const Section& s : sections) {
    if (s.added >= 0)
      ids.push_back(added_[static_cast<size_t>(s.added)].id);
    else
      encode_section(s.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), post_.after.begin(), post_.after.end());
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::string out, bytes;
  const auto flush = [&] {
    out += to_valid_utf8(bytes);
    bytes.clear();
  };
  for (int64_t id : ids) {
    const std::string& t = token(id);
    const int64_t a = added_of_id_[static_cast<size_t>(id)];
    if (a >= 0) {
      flush();
      if (!(skip_special_tokens && added_[static_cast<size_t>(a)].special)) out += t;
      continue;
    }
    // A token spelled outside the byte-level alphabet decodes to its own bytes, as in Hugging Face.
    std::string own;
    bool byte_level = true;
    for (char32_t c : utf8_decode(t)) {
      const int b = char_to_byte(c);
      if (b < 0) byte_level = false;
      own += static_cast<char>(b);
    }
    bytes += byte_level ? own : t;
  }
  flush();
  return out;
}

}  // namespace sparrow::text
