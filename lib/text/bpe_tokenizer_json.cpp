// BpeTokenizer's tokenizer.json, in Hugging Face's layout: what Sparrow runs is
// read into the tokenizer, the rest (truncation, padding, post_processor,
// decoder options) is kept as JSON and written back as read.
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/json_line.h"
#include "text/bpe_tokenizer.h"

namespace sparrow::text {

namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

// tokenizer.json files are a few MB; this is far above any real one.
constexpr std::uintmax_t kMaxTokenizerJsonBytes = std::uintmax_t{1} << 30;

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw BadInput(file_ + ": " + field + ": " + what);
  }
  const json& object(const json& j, const std::string& field) const {
    if (!j.is_object()) fail(field, "expected an object, found " + std::string(j.type_name()));
    return j;
  }
  // obj[key], which must exist.
  const json& at(const json& obj, const std::string& key, const std::string& field) const {
    const auto it = obj.find(key);
    if (it == obj.end()) fail(field + "." + key, "missing");
    return *it;
  }
  bool boolean(const json& obj, const std::string& key, const std::string& field, bool missing) const {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return missing;
    if (!it->is_boolean()) fail(field + "." + key, "expected true or false, found " + it->dump());
    return it->get<bool>();
  }
  std::string string(const json& j, const std::string& field) const {
    if (!j.is_string()) fail(field, "expected a string, found " + j.dump());
    return j.get<std::string>();
  }
  int64_t id(const json& j, const std::string& field) const {
    if (!j.is_number_integer() || j.get<int64_t>() < 0)
      fail(field, "expected a non-negative integer id, found " + j.dump());
    return j.get<int64_t>();
  }
  // The `type` of component `field`, which must be one of `supported`.
  std::string type(const json& j, const std::string& field, const std::vector<std::string>& supported) const {
    const std::string t = string(at(object(j, field), "type", field), field + ".type");
    for (const auto& s : supported)
      if (t == s) return t;
    std::string list;
    for (const auto& s : supported) list += (list.empty() ? "" : " or ") + ("\"" + s + "\"");
    fail(field + ".type", "\"" + t + "\" is not supported (Sparrow reads " + list + ")");
  }

 private:
  std::string file_;
};

BpeModel read_model(const Reader& r, const json& m) {
  r.type(m, "model", {"BPE"});
  BpeModel model;
  const json& dropout = m.contains("dropout") ? m["dropout"] : json();
  if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0.0))
    r.fail("model.dropout", "BPE dropout is not supported (expected null), found " + dropout.dump());
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(key) && !m[key].is_null() && m[key] != "")
      r.fail(std::string("model.") + key, "not supported by byte-level BPE (expected null), found " + m[key].dump());
  if (r.boolean(m, "byte_fallback", "model", false)) r.fail("model.byte_fallback", "not supported (expected false)");
  model.fuse_unk = r.boolean(m, "fuse_unk", "model", false);
  model.ignore_merges = r.boolean(m, "ignore_merges", "model", false);
  if (m.contains("unk_token") && !m["unk_token"].is_null())
    model.unk_token = r.string(m["unk_token"], "model.unk_token");

  const json& vocab = r.object(r.at(m, "vocab", "model"), "model.vocab");
  model.vocab.resize(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id_json] : vocab.items()) {
    const int64_t id = r.id(id_json, "model.vocab[\"" + token + "\"]");
    if (id >= static_cast<int64_t>(vocab.size()))
      r.fail("model.vocab[\"" + token + "\"]", "id " + std::to_string(id) +
                                                   " is out of range: " + std::to_string(vocab.size()) +
                                                   " tokens take ids 0 to " + std::to_string(vocab.size() - 1));
    if (seen[static_cast<size_t>(id)])
      r.fail("model.vocab[\"" + token + "\"]",
             "id " + std::to_string(id) + " is also \"" + model.vocab[static_cast<size_t>(id)] + "\"'s");
    seen[static_cast<size_t>(id)] = true;
    model.vocab[static_cast<size_t>(id)] = token;
  }

  const json& merges = r.at(m, "merges", "model");
  if (!merges.is_array()) r.fail("model.merges", "expected an array, found " + std::string(merges.type_name()));
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    const json& e = merges[i];
    // Hugging Face writes a merge as "left right" (before tokenizers 0.20) or as ["left", "right"].
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size() ||
          s.find(' ', space + 1) != std::string::npos)
        r.fail(field, "expected \"left right\" (two tokens and one space), found " + e.dump());
      model.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      model.merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      r.fail(field, "expected \"left right\" or [\"left\", \"right\"], found " + e.dump());
    }
  }
  return model;
}

std::vector<AddedToken> read_added_tokens(const Reader& r, const json& doc) {
  std::vector<AddedToken> added;
  if (!doc.contains("added_tokens") || doc["added_tokens"].is_null()) return added;
  const json& list = doc["added_tokens"];
  if (!list.is_array()) r.fail("added_tokens", "expected an array, found " + std::string(list.type_name()));
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    const json& e = r.object(list[i], field);
    AddedToken a;
    a.id = r.id(r.at(e, "id", field), field + ".id");
    a.content = r.string(r.at(e, "content", field), field + ".content");
    a.special = r.boolean(e, "special", field, false);
    a.lstrip = r.boolean(e, "lstrip", field, false);
    a.rstrip = r.boolean(e, "rstrip", field, false);
    a.normalized = r.boolean(e, "normalized", field, !a.special);
    if (r.boolean(e, "single_word", field, false)) r.fail(field + ".single_word", "not supported (expected false)");
    added.push_back(std::move(a));
  }
  return added;
}

ByteLevelOptions read_byte_level(const Reader& r, const json& j, const std::string& field) {
  r.type(j, field, {"ByteLevel"});
  ByteLevelOptions o;
  o.add_prefix_space = r.boolean(j, "add_prefix_space", field, o.add_prefix_space);
  o.trim_offsets = r.boolean(j, "trim_offsets", field, o.trim_offsets);
  o.use_regex = r.boolean(j, "use_regex", field, o.use_regex);
  return o;
}

// The special tokens a TemplateProcessing puts around the single sequence, by name, as ids.
PostProcessor read_post_processor(const Reader& r, const json& j) {
  PostProcessor post;
  post.json = j.dump();
  if (j.is_null()) return post;
  if (r.type(j, "post_processor", {"ByteLevel", "TemplateProcessing"}) == "ByteLevel") {
    read_byte_level(r, j, "post_processor");
    return post;
  }
  const json& single = r.at(j, "single", "post_processor");
  const json& specials = r.object(r.at(j, "special_tokens", "post_processor"), "post_processor.special_tokens");
  if (!single.is_array())
    r.fail("post_processor.single", "expected an array, found " + std::string(single.type_name()));
  bool sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const std::string field = "post_processor.single[" + std::to_string(i) + "]";
    const json& item = r.object(single[i], field);
    if (item.contains("Sequence")) {
      const json& s = r.object(item["Sequence"], field + ".Sequence");
      if (sequence || r.string(r.at(s, "id", field + ".Sequence"), field + ".Sequence.id") != "A")
        r.fail(field, "expected the one sequence \"A\" of a single text");
      sequence = true;
    } else if (item.contains("SpecialToken")) {
      const json& s = r.object(item["SpecialToken"], field + ".SpecialToken");
      const std::string name = r.string(r.at(s, "id", field + ".SpecialToken"), field + ".SpecialToken.id");
      if (!specials.contains(name))
        r.fail(field + ".SpecialToken.id", "\"" + name + "\" is not in post_processor.special_tokens");
      const json& ids = r.at(r.object(specials[name], "post_processor.special_tokens[\"" + name + "\"]"), "ids",
                             "post_processor.special_tokens[\"" + name + "\"]");
      if (!ids.is_array()) r.fail("post_processor.special_tokens[\"" + name + "\"].ids", "expected an array of ids");
      for (const json& id : ids)
        (sequence ? post.after : post.before)
            .push_back(r.id(id, "post_processor.special_tokens[\"" + name + "\"].ids"));
    } else {
      r.fail(field, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found " + item.dump());
    }
  }
  if (!sequence) r.fail("post_processor.single", "expected the sequence \"A\"");
  return post;
}

ordered byte_level_json(const ByteLevelOptions& o) {
  ordered j;
  j["type"] = "ByteLevel";
  j["add_prefix_space"] = o.add_prefix_space;
  j["trim_offsets"] = o.trim_offsets;
  j["use_regex"] = o.use_regex;
  return j;
}

// A component kept as JSON text, written in one order whatever order it was read in: "type" first, as
// Hugging Face writes it, then the other keys sorted. So a file read and written again is the same file.
ordered kept(const std::string& text) {
  const json j = json::parse(text);
  if (!j.is_object() || !j.contains("type")) return ordered::parse(text);
  ordered o;
  o["type"] = ordered::parse(j["type"].dump());
  for (const auto& [key, value] : j.items())
    if (key != "type") o[key] = ordered::parse(value.dump());
  return o;
}

}  // namespace

BpeTokenizer BpeTokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  return from_json(read_file(tokenizer_json, kMaxTokenizerJsonBytes), tokenizer_json.string());
}

BpeTokenizer BpeTokenizer::from_json(std::string_view text, const std::string& source) {
  const std::string& file = source;
  const Reader r(file);
  const json doc = parse_json_line(text, file);
  r.object(doc, "(top level)");
  if (doc.contains("normalizer") && !doc["normalizer"].is_null())
    r.fail("normalizer",
           "expected null: Sparrow reads byte-level BPE without a normalizer, found " + doc["normalizer"].dump());
  const ByteLevelOptions pre = read_byte_level(r, r.at(doc, "pre_tokenizer", "(top level)"), "pre_tokenizer");
  const json& decoder = r.at(doc, "decoder", "(top level)");
  read_byte_level(r, decoder, "decoder");
  BpeTokenizer t(read_model(r, r.at(doc, "model", "(top level)")), read_added_tokens(r, doc), pre,
                 read_post_processor(r, r.at(doc, "post_processor", "(top level)")), file);
  // TemplateProcessing names its special tokens twice (tokens and ids): they must agree.
  if (!doc["post_processor"].is_null() && doc["post_processor"].contains("special_tokens"))
    for (const auto& [name, s] : doc["post_processor"]["special_tokens"].items()) {
      const std::string field = "post_processor.special_tokens[\"" + name + "\"]";
      const json& tokens = r.at(s, "tokens", field);
      const json& ids = r.at(s, "ids", field);
      if (!tokens.is_array() || !ids.is_array() || tokens.size() != ids.size())
        r.fail(field, "expected arrays \"tokens\" and \"ids\" of one length");
      for (size_t k = 0; k < ids.size(); ++k) {
        const int64_t id = r.id(ids[k], field + ".ids");
        if (id >= t.size() || t.token(id) != r.string(tokens[k], field + ".tokens"))
          r.fail(field, "id " + std::to_string(id) + " is not the token " + tokens[k].dump());
      }
    }
  t.decoder_json_ = decoder.dump();
  t.truncation_json_ = doc.contains("truncation") ? doc["truncation"].dump() : "null";
  t.padding_json_ = doc.contains("padding") ? doc["padding"].dump() : "null";
  if (doc.contains("padding") && doc["padding"].is_object() && doc["padding"].contains("pad_id")) {
    const int64_t pad = r.id(doc["padding"]["pad_id"], "padding.pad_id");
    if (pad >= t.size()) r.fail("padding.pad_id", "id " + std::to_string(pad) + " is out of range");
    t.special_.pad = pad;
  }
  return t;
}

std::string BpeTokenizer::to_json() const {
  ordered doc;
  doc["version"] = "1.0";
  doc["truncation"] = kept(truncation_json_);
  doc["padding"] = kept(padding_json_);
  doc["added_tokens"] = ordered::array();
  for (const AddedToken& a : added_) {
    ordered e;
    e["id"] = a.id;
    e["content"] = a.content;
    e["single_word"] = false;
    e["lstrip"] = a.lstrip;
    e["rstrip"] = a.rstrip;
    e["normalized"] = a.normalized;
    e["special"] = a.special;
    doc["added_tokens"].push_back(std::move(e));
  }
  doc["normalizer"] = nullptr;
  doc["pre_tokenizer"] = byte_level_json(pre_);
  doc["post_processor"] = kept(post_.json);
  doc["decoder"] = decoder_json_.empty() ? byte_level_json(pre_) : kept(decoder_json_);
  ordered m;
  m["type"] = "BPE";
  m["dropout"] = nullptr;
  m["unk_token"] = model_.unk_token ? ordered(*model_.unk_token) : ordered();
  m["continuing_subword_prefix"] = nullptr;
  m["end_of_word_suffix"] = nullptr;
  m["fuse_unk"] = model_.fuse_unk;
  m["byte_fallback"] = false;
  m["ignore_merges"] = model_.ignore_merges;
  // Appended to the object's list directly: its own insert searches the list, quadratic over 50k tokens,
  // and the constructor has checked that tokens are unique.
  auto& vocab = static_cast<std::vector<std::pair<const std::string, ordered>>&>(
      (m["vocab"] = ordered::object()).get_ref<ordered::object_t&>());
  vocab.reserve(model_.vocab.size());
  for (size_t id = 0; id < model_.vocab.size(); ++id) vocab.emplace_back(model_.vocab[id], id);
  m["merges"] = ordered::array();
  for (const auto& [left, right] : model_.merges) m["merges"].push_back(ordered::array({left, right}));
  doc["model"] = std::move(m);
  return doc.dump(2) + "\n";
}

void BpeTokenizer::save(const std::filesystem::path& tokenizer_json) const {
  write_file_atomic(tokenizer_json, to_json());
}

}  // namespace sparrow::text
