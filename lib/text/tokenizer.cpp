#include "text/tokenizer.h"

#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "text/unicode.h"

namespace sparrow::text {

std::vector<std::string> basic_tokenize(std::string_view text, const BasicTokenizerOptions& options) {
  std::vector<std::string> words;
  std::string current;
  const auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  const auto single = [&](char32_t cp) {
    flush();
    std::string s;
    utf8_append(s, cp);
    words.push_back(std::move(s));
  };
  for (char32_t cp : utf8_decode(text)) {
    if (cp == 0 || cp == kReplacement || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      flush();
      continue;
    }
    if (options.tokenize_chinese_chars && is_cjk(cp)) {
      single(cp);
      continue;
    }
    if (options.do_lower_case) cp = to_lower(cp);
    if (options.strip_accents) {
      if (is_combining_mark(cp)) continue;
      cp = strip_accent(cp);
    }
    if (is_punctuation(cp)) {
      single(cp);
      continue;
    }
    utf8_append(current, cp);
  }
  flush();
  return words;
}

Tokenizer::Tokenizer(std::vector<std::string> vocab, BasicTokenizerOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(options) {
  ids_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    if (vocab_[i].empty()) throw BadInput(source + ": line " + std::to_string(i + 1) + " is an empty token");
    if (!ids_.emplace(vocab_[i], static_cast<int64_t>(i)).second)
      throw BadInput(source + ": line " + std::to_string(i + 1) + ": token '" + vocab_[i] + "' appears twice");
  }
  const auto special = [&](const char* token) {
    const auto it = ids_.find(token);
    if (it == ids_.end()) throw BadInput(source + ": the vocabulary has no " + token + " token");
    return it->second;
  };
  pad_ = special(kPad);
  unk_ = special(kUnk);
  cls_ = special(kCls);
  sep_ = special(kSep);
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& vocab_txt, BasicTokenizerOptions options) {
  const std::string text = read_file(vocab_txt);
  std::vector<std::string> vocab;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(std::move(line));
    begin = end + 1;
  }
  return Tokenizer(std::move(vocab), options, vocab_txt.string());
}

void Tokenizer::save(const std::filesystem::path& vocab_txt) const {
  std::string out;
  for (const auto& t : vocab_) out += t + "\n";
  write_file_atomic(vocab_txt, out);
}

int64_t Tokenizer::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? unk_ : it->second;
}

const std::string& Tokenizer::token(int64_t id) const {
  if (id < 0 || id >= size()) throw BadInput("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(size()));
  return vocab_[static_cast<size_t>(id)];
}

void Tokenizer::wordpiece(const std::string& word, std::vector<std::string>& out) const {
  // Byte offsets of each character, so pieces never split a UTF-8 sequence.
  std::vector<size_t> starts;
  for (size_t i = 0; i < word.size(); ++i)
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() > kMaxCharsPerWord) {
    out.emplace_back(kUnk);
    return;
  }
  starts.push_back(word.size());
  const size_t first = out.size();
  size_t c = 0;
  const size_t chars = starts.size() - 1;
  while (c < chars) {
    size_t end = chars;
    std::string piece;
    for (; end > c; --end) {
      piece = (c > 0 ? "##" : "") + word.substr(starts[c], starts[end] - starts[c]);
      if (ids_.count(piece)) break;
    }
    if (end == c) {
      out.resize(first);
      out.emplace_back(kUnk);
      return;
    }
    out.push_back(std::move(piece));
    c = end;
  }
}

std::vector<std::string> Tokenizer::tokenize(std::string_view text, size_t max_pieces) const {
  std::vector<std::string> pieces;
  for (const auto& word : basic_tokenize(text, options_)) {
    wordpiece(word, pieces);
    if (max_pieces && pieces.size() >= max_pieces) {
      pieces.resize(max_pieces);
      break;
    }
  }
  return pieces;
}

Encoding Tokenizer::encode(std::string_view text, int64_t max_length) const {
  if (max_length < 2) throw BadInput("max_seq_length must be >= 2 to hold [CLS] and [SEP], got " + std::to_string(max_length));
  Encoding e;
  e.ids.reserve(static_cast<size_t>(max_length));
  e.ids.push_back(cls_);
  for (const auto& piece : tokenize(text, static_cast<size_t>(max_length - 2))) e.ids.push_back(id(piece));
  e.ids.push_back(sep_);
  e.mask.assign(e.ids.size(), 1);
  e.ids.resize(static_cast<size_t>(max_length), pad_);
  e.mask.resize(static_cast<size_t>(max_length), 0);
  return e;
}

}  // namespace sparrow::text
