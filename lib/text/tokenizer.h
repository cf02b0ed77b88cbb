#pragma once
// BERT's tokenizer: the basic tokenizer (text clean-up, optional lower-casing
// and accent stripping, splitting on whitespace, punctuation and CJK
// characters) followed by WordPiece greedy longest-match with "##"
// continuations, as Hugging Face's BertTokenizer does. No LibTorch here.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sparrow::text {

struct BasicTokenizerOptions {
  bool do_lower_case = true;
  // HF strips accents whenever it lower-cases unless told otherwise.
  bool strip_accents = true;
  bool tokenize_chinese_chars = true;
};

// Splits text into words and punctuation marks (UTF-8 in, UTF-8 out).
// Invalid UTF-8 bytes are dropped like the U+FFFD characters HF removes.
std::vector<std::string> basic_tokenize(std::string_view text, const BasicTokenizerOptions& options);

struct Encoding {
  std::vector<int64_t> ids;   // [CLS] pieces [SEP] [PAD]...
  std::vector<int64_t> mask;  // 1 for real tokens, 0 for padding
};

class Tokenizer {
 public:
  static constexpr const char* kPad = "[PAD]";
  static constexpr const char* kUnk = "[UNK]";
  static constexpr const char* kCls = "[CLS]";
  static constexpr const char* kSep = "[SEP]";
  static constexpr const char* kMask = "[MASK]";
  // Words longer than this many characters become [UNK], as in HF.
  static constexpr size_t kMaxCharsPerWord = 100;

  // `vocab[i]` is the token of id i. [PAD], [UNK], [CLS] and [SEP] must be present
  // and tokens unique; otherwise BadInput prefixed by `source`.
  Tokenizer(std::vector<std::string> vocab, BasicTokenizerOptions options, const std::string& source = "vocabulary");
  // vocab.txt: one token per line, the line number (from 0) is its id.
  static Tokenizer from_file(const std::filesystem::path& vocab_txt, BasicTokenizerOptions options);
  void save(const std::filesystem::path& vocab_txt) const;

  // WordPiece pieces of `text`, stopping once `max_pieces` are produced (0: all).
  std::vector<std::string> tokenize(std::string_view text, size_t max_pieces = 0) const;
  // [CLS] + the first max_length - 2 pieces + [SEP], padded with [PAD] to max_length.
  Encoding encode(std::string_view text, int64_t max_length) const;

  int64_t size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t id(const std::string& token) const;  // [UNK]'s id for unknown tokens
  const std::string& token(int64_t id) const;
  const std::vector<std::string>& vocab() const { return vocab_; }
  const BasicTokenizerOptions& options() const { return options_; }
  int64_t pad_id() const { return pad_; }
  int64_t unk_id() const { return unk_; }
  int64_t cls_id() const { return cls_; }
  int64_t sep_id() const { return sep_; }

 private:
  // Appends the WordPiece pieces of one basic token to `out`.
  void wordpiece(const std::string& word, std::vector<std::string>& out) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> ids_;
  BasicTokenizerOptions options_;
  int64_t pad_ = 0, unk_ = 0, cls_ = 0, sep_ = 0;
};

}  // namespace sparrow::text
