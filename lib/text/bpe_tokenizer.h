#pragma once
// Byte-level BPE, the tokenizer of GPT-2 and of Llama-style models trained with a
// byte-level vocabulary, as Hugging Face's `tokenizers` runs a tokenizer.json of
// that kind: added (special) tokens are split out of the text first, the rest is
// cut by GPT-2's pattern (byte_level.h), each piece's bytes become byte-level
// characters, and merges apply by rank. No LibTorch here: the engine uses it.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sparrow::text {

// An entry of tokenizer.json's `added_tokens`: text matched as a whole before
// pre-tokenization. `lstrip`/`rstrip` eat the whitespace before/after it.
struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool special = true;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // without a normalizer, it changes nothing
};

// The ByteLevel pre-tokenizer's options (tokenizer.json's `pre_tokenizer`).
struct ByteLevelOptions {
  bool add_prefix_space = false;  // a space before each piece of text that lacks one
  bool trim_offsets = true;       // offsets only: no effect on ids
  bool use_regex = true;          // split with GPT-2's pattern (else: one piece)
};

// The BPE model (tokenizer.json's `model`): `vocab[id]` spelled in byte-level
// characters, and merges in rank order.
struct BpeModel {
  std::vector<std::string> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  std::optional<std::string> unk_token;
  bool fuse_unk = false;       // consecutive unknown symbols give one unk id
  bool ignore_merges = false;  // a piece that is itself in the vocabulary is not merged
};

// What the post-processor adds around one encoded text when special tokens are
// asked for: TemplateProcessing's special tokens before and after the sequence
// (Llama's BOS), nothing for ByteLevel or none. `json` is the file's
// post_processor, written back with the same content.
struct PostProcessor {
  std::vector<int64_t> before, after;
  std::string json = "null";
};

// Special ids "as the file says": unk from model.unk_token; bos from the
// TemplateProcessing's leading special token, eos from its trailing one; else
// eos is the one special added token that is neither bos nor unk, if there is
// exactly one, and without a template it is bos too (GPT-2's <|endoftext|>); pad
// from `padding.pad_id`. A caller that knows better (tokenizer_config.json,
// generation_config.json) sets them with set_special_ids().
struct SpecialIds {
  std::optional<int64_t> bos, eos, pad, unk;
};

class BpeTokenizer {
 public:
  // Checks everything (unique tokens, merges naming known tokens, added tokens'
  // ids, post-processor ids); otherwise BadInput prefixed by `source`.
  BpeTokenizer(BpeModel model, std::vector<AddedToken> added, ByteLevelOptions pre_tokenizer, PostProcessor post,
               const std::string& source = "tokenizer");

  // Hugging Face tokenizer.json with model BPE, normalizer null, pre-tokenizer
  // and decoder ByteLevel. Anything else, or a corrupt file, is BadInput naming
  // the file and the JSON field.
  static BpeTokenizer from_file(const std::filesystem::path& tokenizer_json);
  // The same from tokenizer.json's text (a .sparrow file carries it); errors name `source`.
  static BpeTokenizer from_json(std::string_view text, const std::string& source);
  // tokenizer.json in Hugging Face's layout, written atomically.
  void save(const std::filesystem::path& tokenizer_json) const;
  std::string to_json() const;

  // Ids of `text`; with special tokens, what the post-processor adds. Added
  // tokens in the text are always recognized. Ill-formed UTF-8 is read as
  // U+FFFD per ill-formed subpart, as Python's and JavaScript's decoders do.
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // The text of `ids`: added tokens as written, the rest byte-decoded; bytes
  // that are not UTF-8 become U+FFFD. An id out of range is BadInput.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  std::optional<int64_t> id(const std::string& token) const;  // byte-level spelling or added token content
  const std::string& token(int64_t id) const;                 // BadInput when out of range
  const SpecialIds& special_ids() const { return special_; }
  void set_special_ids(const SpecialIds& ids);

  const BpeModel& model() const { return model_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const ByteLevelOptions& pre_tokenizer() const { return pre_; }
  const PostProcessor& post_processor() const { return post_; }
  // tokenizer.json's truncation and padding objects (JSON text), written back with the same content.
  const std::string& truncation_json() const { return truncation_json_; }
  const std::string& padding_json() const { return padding_json_; }

 private:
  struct Merge {
    int32_t rank, id;
  };
  // The ids of text between added tokens, and of one pre-tokenized piece (raw bytes).
  void encode_section(std::string_view section, std::vector<int64_t>& out) const;
  std::vector<int32_t> bpe(std::string_view piece) const;

  BpeModel model_;
  std::vector<AddedToken> added_;
  ByteLevelOptions pre_;
  PostProcessor post_;
  SpecialIds special_;
  std::vector<std::string> tokens_;  // id -> model token or added content
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<int64_t> added_of_id_;                          // id -> index into added_, or -1
  std::array<std::vector<size_t>, 256> added_by_first_byte_;  // indices into added_
  std::array<int32_t, 256> byte_ids_{};                       // id of each byte's character, or -1
  std::unordered_map<uint64_t, Merge> merges_;                // (left id << 32 | right id) -> merge
  // Kept as the file wrote them (JSON text); an empty decoder is ByteLevel with the pre-tokenizer's options.
  std::string truncation_json_ = "null", padding_json_ = "null", decoder_json_;
  // Piece bytes -> ids. Copies share it: it depends only on the model, which never changes.
  struct PieceCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> ids;
  };
  std::shared_ptr<PieceCache> cache_ = std::make_shared<PieceCache>();
};

}  // namespace sparrow::text
