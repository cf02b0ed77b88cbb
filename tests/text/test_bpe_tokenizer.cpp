// Byte-level BPE against independent references: hand-derived pieces, byte tables and merges; Hugging
// Face's own JavaScript implementation (@huggingface/tokenizers) and gpt-3-encoder (GPT-2's vocab.bpe and
// encoder.json with their own encoder), both run by bpe_reference.mjs on real e-mail lines and edge cases;
// tokenizer.json round trips; golden errors for corrupt files.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "support/run_command.h"
#include "support/skip.h"
#include "text/bpe_tokenizer.h"
#include "text/bpe_trainer.h"
#include "text/byte_level.h"
#include "text/unicode.h"

using namespace sparrow;
using namespace sparrow::text;
using Catch::Matchers::Contains;
using Pieces = std::vector<std::string_view>;
using Ids = std::vector<int64_t>;

namespace {

fs::path env_dir(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? fs::path(v) : fs::path(fallback);
}

// A fresh folder for one test case's files, removed with everything in it when the case ends.
class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : path_(fs::temp_directory_path() / ("sparrow_test_bpe_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  operator const fs::path&() const { return path_; }

 private:
  fs::path path_;
};

// Hand-picked texts where byte-level BPE goes wrong most easily.
std::vector<std::string> edge_cases() {
  return {"Hello world, it's 2024!",
          "I'm sure they'll say we've done what you'd do: don't, can't, won't. It's 'quoted' and I'D SHOUT",
          "'s 't 're 've 'm 'll 'd '' 'x ''s",
          "digits 1234567890 3.14159 -42 1,000,000 ١٢٣ ⅷ ²",
          "multiple   spaces    here  ",
          "   leading spaces",
          "tabs\tand\t\ttabs\nnew\nlines\n\n\nand\r\nCRLF \n trailing\n",
          "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 ❤️",
          "CJK 日本語のテキスト 中文 한국어",
          "accents café naïve Zürich crème brûlée e\xcc\x81 (combining)",
          "Ελληνικά Русский עברית العربية हिन्दी",
          "special <|endoftext|> in the middle<|endoftext|>and<|endoftext|> <|endoftext|>",
          "<|endoftext|>",
          "<|endoftext",
          "invalid \xff\xfe bytes \xe2\x82 truncated \xc3 end \xed\xa0\x80 surrogate \xf4\x90\x80\x80 high",
          "zero-width\xe2\x80\x8bspace, no\xc2\xa0"
          "break, ideographic\xe3\x80\x80space, bom\xef\xbb\xbf, nel\xc2\x85x",
          "a",
          " ",
          "",
          "symbols !!! ??? ... --- *** @@@ ### $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> /// \\\\\\ |||",
          "mixed123abc 123abc abc123 a1b2c3 _under_score_ snake_case camelCase",
          "https://example.com/path?q=1&r=two#frag user@example.org",
          std::string(300, 'x') + " " + std::string(100, ' ') + "y"};
}

// Up to `count` non-empty lines of the e-mail corpus (raw bytes, some not UTF-8), from its folders in order.
std::vector<std::string> email_lines(size_t count) {
  const fs::path root = env_dir("SPARROW_DATA_DIR", "/usr/local/share/sparrow") / "node_modules" / "@stdlib" /
                        "datasets-spam-assassin" / "data";
  std::vector<std::string> lines;
  for (const char* folder : {"easy-ham-1", "spam-2"}) {
    if (!fs::is_directory(root / folder)) return {};
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(root / folder))
      if (e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    const size_t want = lines.size() + count / 2;
    for (const fs::path& f : files) {
      std::istringstream in(read_file(f));
      for (std::string line; lines.size() < want && std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
      if (lines.size() >= want) break;
    }
  }
  return lines;
}

struct Reference {
  fs::path tools = env_dir("SPARROW_TEST_TOOLS_DIR", "/usr/local/share/sparrow-test-tools");
  fs::path script = fs::path(SPARROW_SOURCE_DIR) / "tests" / "text" / "bpe_reference.mjs";

  // Why the reference cannot run here, or "" when it can.
  std::string missing() const {
    if (testing::run_command("command -v node").exit_code != 0) return "node is not installed";
    for (const char* p : {"@huggingface/tokenizers/package.json", "gpt-3-encoder/package.json"})
      if (!fs::exists(tools / "node_modules" / p))
        return (tools / "node_modules" / p).string() + " is missing (third_party/setup.sh installs it)";
    return "";
  }

  void run(const std::string& args) const {
    const auto r = testing::run_command("node '" + script.string() + "' '" + tools.string() + "' " + args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }

  // Writes `texts` NUL-separated to `dir`/in.bin, runs `command` on it, reads one id list per text.
  std::vector<Ids> ids(const fs::path& dir, const std::vector<std::string>& texts, const std::string& command) const {
    std::string in;
    for (size_t i = 0; i < texts.size(); ++i) in += (i ? std::string(1, '\0') : "") + texts[i];
    write_file_atomic(dir / "in.bin", in);
    const fs::path out = dir / "out.txt";
    run(command + " '" + (dir / "in.bin").string() + "' '" + out.string() + "'");
    std::vector<Ids> all;
    std::istringstream lines(read_file(out));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      Ids ids;
      for (int64_t id; words >> id;) ids.push_back(id);
      all.push_back(std::move(ids));
    }
    REQUIRE(all.size() == texts.size());
    return all;
  }

  // The text of each id list by @huggingface/tokenizers with `tokenizer`.
  std::vector<std::string> texts(const fs::path& dir, const std::string& tokenizer, const std::vector<Ids>& all) const {
    std::string in;
    for (const Ids& ids : all) {
      for (size_t i = 0; i < ids.size(); ++i) in += (i ? " " : "") + std::to_string(ids[i]);
      in += "\n";
    }
    write_file_atomic(dir / "ids.txt", in);
    const fs::path out = dir / "texts.bin";
    run("decode '" + tokenizer + "' '" + (dir / "ids.txt").string() + "' '" + out.string() + "'");
    std::vector<std::string> texts;
    const std::string bytes = read_file(out);
    for (size_t start = 0;;) {
      const size_t end = bytes.find('\0', start);
      texts.push_back(bytes.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    REQUIRE(texts.size() == all.size());
    return texts;
  }
};

std::string shown(const std::string& text) {
  std::string s;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F) {
      s += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", b);
      s += hex;
    }
  }
  return s;
}

// Every text's ids equal the reference's; the first few differences are shown.
void check_same_ids(const BpeTokenizer& t, const std::vector<std::string>& texts, const std::vector<Ids>& expected) {
  size_t differ = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Ids got = t.encode(texts[i]);
    if (got != expected[i] && ++differ <= 3) {
      INFO("text " << i << ": " << shown(texts[i]));
      CHECK(got == expected[i]);
    }
  }
  INFO(differ << " of " << texts.size() << " texts differ");
  CHECK(differ == 0);
}

std::string load_gpt2(const Reference& ref, const fs::path& dir) {
  const fs::path file = dir / "gpt2.json";
  ref.run("gpt2-json '" + file.string() + "'");
  return file.string();
}

}  // namespace

TEST_CASE("UTF-8 decoding replaces each maximal ill-formed subpart with one U+FFFD", "[bpe]") {
  const std::u32string f(1, kReplacement);
  const auto decode = [](std::string_view s) {
    const auto v = utf8_decode(s);
    return std::u32string(v.begin(), v.end());
  };
  CHECK(decode("a\xe2\x82"
               "b") == U"a" + f + U"b");               // truncated 3-byte sequence: one
  CHECK(decode("\xf0\x9f\x98") == f);                  // truncated 4-byte sequence: one
  CHECK(decode("\xf0\x80\x80") == f + f + f);          // F0 80 is never valid: one per byte
  CHECK(decode("\xed\xa0\x80") == f + f + f);          // a surrogate
  CHECK(decode("\xc0\xaf\xff") == f + f + f);          // overlong, then a byte never in UTF-8
  CHECK(decode("\xf4\x90\x80\x80") == f + f + f + f);  // above U+10FFFF
  CHECK(decode("caf\xc3\xa9 \xf0\x9f\x98\x80") == U"café 😀");
  CHECK(to_valid_utf8("x\xe2\x82y") == "x\xef\xbf\xbdy");
  CHECK(is_valid_utf8("caf\xc3\xa9"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));
}

TEST_CASE("GPT-2's byte alphabet and the classes of its pattern", "[bpe]") {
  CHECK(byte_to_char('A') == U'A');
  CHECK(byte_to_char(' ') == 0x120);   // "Ġ"
  CHECK(byte_to_char('\n') == 0x10A);  // "Ċ"
  CHECK(byte_to_char(0) == 0x100);
  CHECK(byte_to_char(0x7F) == 0x121);
  CHECK(byte_to_char(0xAD) == 0x143);
  CHECK(byte_to_char(0xE9) == 0xE9);
  for (int b = 0; b < 256; ++b) CHECK(char_to_byte(byte_to_char(static_cast<uint8_t>(b))) == b);
  CHECK(char_to_byte(0x144) == -1);
  CHECK(char_to_byte(U'\n') == -1);
  CHECK(bytes_to_chars("a b\n") ==
        "a\xc4\xa0"
        "b\xc4\x8a");

  CHECK(is_letter(U'é'));
  CHECK(is_letter(U'日'));
  CHECK(is_letter(U'ß'));
  CHECK_FALSE(is_letter(U'1'));
  CHECK_FALSE(is_letter(0x301));  // a combining mark is M, not L
  CHECK(is_number(U'٣'));
  CHECK(is_number(U'²'));
  CHECK(is_number(U'Ⅷ'));
  CHECK_FALSE(is_number(U'x'));
  CHECK(is_regex_space(0xFEFF));
  CHECK(is_regex_space(0x3000));
  CHECK_FALSE(is_regex_space(0x85));
  CHECK_FALSE(is_regex_space(0x200B));
}

TEST_CASE("GPT-2 pre-tokenization: contractions, letters, numbers, other, whitespace runs", "[bpe]") {
  CHECK(gpt2_pre_tokenize("Hello world, it's 2024!") == Pieces{"Hello", " world", ",", " it", "'s", " 2024", "!"});
  CHECK(gpt2_pre_tokenize("I'll don't we're 'x ''s") ==
        Pieces{"I", "'ll", " don", "'t", " we", "'re", " '", "x", " ''", "s"});
  CHECK(gpt2_pre_tokenize("a   b") == Pieces{"a", "  ", " b"});
  CHECK(gpt2_pre_tokenize("x\n\ny") == Pieces{"x", "\n", "\n", "y"});
  CHECK(gpt2_pre_tokenize("end  ") == Pieces{"end", "  "});
  CHECK(gpt2_pre_tokenize(" \tx") == Pieces{" ", "\t", "x"});
  CHECK(gpt2_pre_tokenize("abc123 45x") == Pieces{"abc", "123", " 45", "x"});
  CHECK(gpt2_pre_tokenize("naïve 日本語 ١٢٣") == Pieces{"naïve", " 日本語", " ١٢٣"});
  CHECK(gpt2_pre_tokenize("?! ...--") == Pieces{"?!", " ...--"});
  CHECK(gpt2_pre_tokenize("e\xcc\x81t") == Pieces{"e", "\xcc\x81", "t"});
  CHECK(gpt2_pre_tokenize("").empty());
}

TEST_CASE("trainer: most frequent pair first, ties to the smaller ids, special tokens last", "[bpe]") {
  BpeTrainerOptions o;
  o.vocab_size = 261;
  o.special_tokens = {"<|endoftext|>"};
  // Pieces "aaab" and " aaab": (a,a) counts 4; then (aa,a) and (a,b) tie at 2 and (a,b) has the smaller ids.
  const BpeTokenizer t = train_bpe({"aaab aaab<|endoftext|>"}, o);
  using Merges = std::vector<std::pair<std::string, std::string>>;
  CHECK(t.model().merges == Merges{{"a", "a"}, {"a", "b"}, {"aa", "ab"}, {"\xc4\xa0", "aaab"}});
  CHECK(t.size() == 261);
  CHECK(t.token(97) == "a");
  CHECK(t.token(256) == "aa");
  CHECK(t.token(259) ==
        "\xc4\xa0"
        "aaab");
  CHECK(t.token(260) == "<|endoftext|>");
  CHECK(t.special_ids().eos == 260);
  CHECK(t.special_ids().bos == 260);
  CHECK(t.encode("aaab aaab") == Ids{258, 259});
  CHECK(t.encode("aab<|endoftext|>") == Ids{256, 98, 260});
  CHECK(t.encode("ba") == Ids{98, 97});
  CHECK(t.decode({258, 259, 260}) == "aaab aaab<|endoftext|>");
  CHECK(t.decode({258, 259, 260}, true) == "aaab aaab");

  o.vocab_size = 1000;                                   // runs out of pairs first
  CHECK(train_bpe({"ab ab"}, o).size() == 256 + 2 + 1);  // "ab", then "Ġab"
  o.vocab_size = 256;
  CHECK_THROWS_WITH(train_bpe({"ab"}, o), Contains("vocabulary size 256 is too small"));
}

TEST_CASE("decode(encode(x)) == x for valid UTF-8, U+FFFD for the rest", "[bpe]") {
  BpeTrainerOptions o;
  o.vocab_size = 600;
  o.special_tokens = {"<|endoftext|>"};
  std::vector<std::string> corpus = edge_cases();
  for (const std::string& line : email_lines(400)) corpus.push_back(line);
  const BpeTokenizer t = train_bpe(corpus, o);
  for (const std::string& text : corpus) {
    INFO(shown(text));
    CHECK(t.decode(t.encode(text)) == to_valid_utf8(text));
  }
  // Half a character decodes to U+FFFD; the trainer's ids 0..255 are the bytes.
  CHECK(t.decode({0xE2, 0x98}) == "\xef\xbf\xbd");
  CHECK(t.decode({0xE2, 0x98, 0x83}) == "\xe2\x98\x83");
  CHECK_THROWS_WITH(t.decode({t.size()}), Contains("token id 600 is out of range"));
  CHECK_THROWS_WITH(t.decode({-1}), Contains("token id -1 is out of range"));
}

TEST_CASE("tokenizer.json round trip: read, write, read gives the same file and the same ids", "[bpe]") {
  const Scratch scratch("round_trip");
  const fs::path& dir = scratch;
  BpeTrainerOptions o;
  o.vocab_size = 700;
  o.special_tokens = {"<s>", "</s>"};
  o.bos_token = "<s>";
  o.pre_tokenizer.add_prefix_space = true;
  const std::vector<std::string> corpus = email_lines(600);
  const BpeTokenizer trained = train_bpe(corpus.empty() ? edge_cases() : corpus, o);
  trained.save(dir / "a.json");
  const BpeTokenizer a = BpeTokenizer::from_file(dir / "a.json");
  a.save(dir / "b.json");
  CHECK(read_file(dir / "a.json") == read_file(dir / "b.json"));
  CHECK(a.special_ids().bos == trained.id("<s>"));
  CHECK(a.special_ids().eos == trained.id("</s>"));
  CHECK_FALSE(a.special_ids().unk);
  for (const std::string& text : edge_cases()) {
    CHECK(a.encode(text) == trained.encode(text));
    CHECK(a.encode(text).front() == *a.id("<s>"));
    const Ids with_bos = trained.encode(text);
    CHECK(a.encode(text, false) == Ids(with_bos.begin() + 1, with_bos.end()));
  }
  // Hugging Face's layout: its keys in its order.
  const std::string json = read_file(dir / "a.json");
  size_t at = 0;
  for (const char* key :
       {"\"version\": \"1.0\"", "\"truncation\"", "\"padding\"", "\"added_tokens\"", "\"normalizer\": null",
        "\"pre_tokenizer\"", "\"post_processor\"", "\"decoder\"", "\"model\"", "\"type\": \"BPE\"", "\"dropout\"",
        "\"unk_token\"", "\"continuing_subword_prefix\"", "\"end_of_word_suffix\"", "\"fuse_unk\"", "\"byte_fallback\"",
        "\"ignore_merges\"", "\"vocab\"", "\"merges\""}) {
    INFO(key);
    const size_t next = json.find(key, at);
    CHECK(next != std::string::npos);
    at = next == std::string::npos ? at : next;
  }
}

TEST_CASE("GPT-2's vocabulary: same ids as @huggingface/tokenizers and gpt-3-encoder", "[bpe][reference]") {
  const Reference ref;
  if (const std::string why = ref.missing(); !why.empty()) return testing::skip(why);
  const std::vector<std::string> lines = email_lines(3000);
  if (lines.empty()) return testing::skip("the e-mail corpus is not installed (third_party/setup.sh)");
  const Scratch scratch("gpt2");
  const fs::path& dir = scratch;
  const BpeTokenizer t = BpeTokenizer::from_file(load_gpt2(ref, dir));
  CHECK(t.size() == 50257);
  CHECK(t.special_ids().eos == 50256);
  CHECK(t.encode("Hello world") == Ids{15496, 995});  // GPT-2's well-known ids

  std::vector<std::string> texts = edge_cases();
  texts.insert(texts.end(), lines.begin(), lines.end());
  check_same_ids(t, texts, ref.ids(dir, texts, "encode '" + (dir / "gpt2.json").string() + "'"));

  // gpt-3-encoder knows no special tokens: compare on the texts without one.
  std::vector<std::string> plain;
  for (const std::string& s : texts)
    if (s.find("<|endoftext|>") == std::string::npos) plain.push_back(s);
  check_same_ids(t, plain, ref.ids(dir, plain, "gpt3"));

  // Decoding: every text's ids, and the same without their last id (which may cut a character in two).
  std::vector<Ids> id_lists;
  for (const std::string& text : texts) {
    const Ids ids = t.encode(text);
    if (ids.empty()) continue;
    id_lists.push_back(ids);
    if (ids.size() > 1) id_lists.emplace_back(ids.begin(), ids.end() - 1);
  }
  const std::vector<std::string> expected = ref.texts(dir, (dir / "gpt2.json").string(), id_lists);
  size_t differ = 0;
  for (size_t i = 0; i < id_lists.size(); ++i)
    if (t.decode(id_lists[i]) != expected[i] && ++differ <= 3) {
      INFO("ids " << i);
      CHECK(shown(t.decode(id_lists[i])) == shown(expected[i]));
    }
  INFO(differ << " of " << id_lists.size() << " decodings differ");
  CHECK(differ == 0);

  // Sparrow's file of GPT-2 reads back to the same tokenizer.
  t.save(dir / "sparrow_gpt2.json");
  const BpeTokenizer again = BpeTokenizer::from_file(dir / "sparrow_gpt2.json");
  CHECK(again.to_json() == t.to_json());
  for (const std::string& s : edge_cases()) CHECK(again.encode(s) == t.encode(s));
}

TEST_CASE("a vocabulary Sparrow trained: @huggingface/tokenizers reads its file and gives the same ids",
          "[bpe][reference]") {
  const Reference ref;
  if (const std::string why = ref.missing(); !why.empty()) return testing::skip(why);
  const std::vector<std::string> lines = email_lines(3000);
  if (lines.empty()) return testing::skip("the e-mail corpus is not installed (third_party/setup.sh)");
  std::vector<std::string> texts = edge_cases();
  texts.insert(texts.end(), lines.begin(), lines.end());
  const std::vector<std::string> train(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(lines.size() / 2));

  for (const bool llama_style : {false, true}) {
    INFO((llama_style ? "BOS template, prefix space, lstrip/rstrip" : "GPT-2 style"));
    {
      const Scratch scratch(llama_style ? "trained_llama" : "trained_gpt2");
      const fs::path& dir = scratch;
      BpeTrainerOptions o;
      o.vocab_size = 2000;
      o.special_tokens = {"<|endoftext|>"};
      if (llama_style) {
        o.special_tokens.push_back("<s>");
        o.bos_token = "<s>";
        o.pre_tokenizer.add_prefix_space = true;
      }
      BpeTokenizer t = train_bpe(train, o);
      if (llama_style) {
        // lstrip/rstrip and ignore_merges as a file may set them: written, read back, and run by both.
        std::vector<AddedToken> added = t.added_tokens();
        added[0].lstrip = added[0].rstrip = true;
        BpeModel model = t.model();
        model.ignore_merges = true;
        t = BpeTokenizer(model, added, t.pre_tokenizer(), t.post_processor());
      }
      t.save(dir / "tokenizer.json");
      const BpeTokenizer read = BpeTokenizer::from_file(dir / "tokenizer.json");
      check_same_ids(read, texts, ref.ids(dir, texts, "encode '" + (dir / "tokenizer.json").string() + "'"));
    }
  }
}

TEST_CASE("corrupt tokenizer.json: BadInput naming the file and the field", "[bpe]") {
  const Scratch scratch("corrupt");
  const fs::path& dir = scratch;
  const std::string byte_level =
      R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})";
  const auto model = [](const std::string& vocab, const std::string& merges, const std::string& more = "") {
    return R"({"type": "BPE")" + more + R"(, "vocab": )" + vocab + R"(, "merges": )" + merges + "}";
  };
  const std::string good_model =
      model(R"({"a": 0, "b": 1, "ab": 2})", R"(["a b"])", R"(, "dropout": null, "unk_token": null)");
  // A small valid file with some top-level fields replaced.
  const auto doc = [&](const std::vector<std::pair<std::string, std::string>>& changed) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"version", "\"1.0\""},     {"added_tokens", "[]"},  {"normalizer", "null"}, {"pre_tokenizer", byte_level},
        {"post_processor", "null"}, {"decoder", byte_level}, {"model", good_model}};
    for (const auto& [key, value] : changed) {
      auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
      if (it == fields.end())
        fields.emplace_back(key, value);
      else
        it->second = value;
    }
    std::string out = "{";
    for (const auto& [key, value] : fields) out += (out.size() > 1 ? ", \"" : "\"") + key + "\": " + value;
    return out + "}";
  };
  const auto with_model = [&](const std::string& m) { return doc({{"model", m}}); };
  const std::string template_start =
      R"({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": )";
  const fs::path file = dir / "tokenizer.json";
  write_file_atomic(file, doc({}));
  CHECK(BpeTokenizer::from_file(file).encode("ab") == Ids{2});
  write_file_atomic(file, with_model(model(R"({"a": 0, "b": 1, "ab": 2})", R"([["a", "b"]])")));
  CHECK(BpeTokenizer::from_file(file).encode("ab") == Ids{2});

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"model\": ", "not valid JSON"},
      {"[1, 2]", "(top level): expected an object"},
      {with_model(R"({"type": "WordPiece", "vocab": {}})"), "model.type: \"WordPiece\" is not supported"},
      {doc({{"normalizer", R"({"type": "NFC"})"}}), "normalizer: expected null"},
      {doc({{"pre_tokenizer", R"({"type": "Metaspace"})"}}), "pre_tokenizer.type: \"Metaspace\" is not supported"},
      {doc({{"pre_tokenizer", R"({"add_prefix_space": true})"}}), "pre_tokenizer.type: missing"},
      {doc({{"pre_tokenizer", R"({"type": "ByteLevel", "use_regex": "yes"})"}}),
       "pre_tokenizer.use_regex: expected true or false"},
      {with_model(model(R"({"a": 0, "b": 1, "ab": 2})", R"(["a c"])")),
       "model.merges[0]: \"a c\" names \"c\", which is not in model.vocab"},
      {with_model(model(R"({"a": 0, "b": 1})", R"(["a b"])")),
       "model.merges[0]: \"a b\" names \"ab\", which is not in model.vocab"},
      {with_model(model(R"({"a": 0, "b": 1, "ab": 2})", R"(["ab"])")), "model.merges[0]: expected \"left right\""},
      {with_model(model(R"({"a": 0, "b": 1, "ab": 2})", R"([["a"]])")), "model.merges[0]: expected \"left right\" or"},
      {with_model(model(R"({"a": 0, "b": 1, "ab": 2})", R"(["a b", "a b"])")),
       "model.merges[1]: \"a b\" repeats merge 0"},
      {with_model(model(R"({"a": 0, "b": 0, "ab": 2})", "[]")), "model.vocab[\"b\"]: id 0 is also \"a\"'s"},
      {with_model(model(R"({"a": 0, "b": 1, "ab": 7})", "[]")), "model.vocab[\"ab\"]: id 7 is out of range"},
      {with_model(model(R"({"a": 0, "b": -1})", "[]")), "model.vocab[\"b\"]: expected a non-negative integer id"},
      {with_model(model(R"({"a": 0})", "{}")), "model.merges: expected an array"},
      {with_model(R"({"type": "BPE", "merges": []})"), "model.vocab: missing"},
      {with_model(model("{}", "[]")), "model.vocab: expected at least one token"},
      {with_model(model(R"({"a": 0})", "[]", R"(, "byte_fallback": true)")), "model.byte_fallback: not supported"},
      {with_model(model(R"({"a": 0})", "[]", R"(, "continuing_subword_prefix": "##")")),
       "model.continuing_subword_prefix"},
      {with_model(model(R"({"a": 0})", "[]", R"(, "dropout": 0.1)")), "model.dropout"},
      {with_model(model(R"({"a": 0})", "[]", R"(, "unk_token": "<unk>")")),
       "model.unk_token: \"<unk>\" is not in the vocabulary"},
      {doc({{"added_tokens", R"([{"id": 5, "content": "<s>", "special": true}])"}}),
       "added_tokens: id 5 of \"<s>\" is out of range"},
      {doc({{"added_tokens", R"([{"id": 0, "content": "<s>", "special": true}])"}}),
       "added_tokens[0]: id 0 is the model's token \"a\", not \"<s>\""},
      {doc({{"added_tokens", R"([{"id": 3, "content": "<s>"}, {"id": 4, "content": "<s>"}])"}}),
       "added_tokens[1].content: \"<s>\" is added twice"},
      {doc({{"added_tokens", R"([{"id": 3, "content": "<s>"}, {"id": 3, "content": "</s>"}])"}}),
       "added_tokens: id 3 is given to \"<s>\" and \"</s>\""},
      {doc({{"added_tokens", R"([{"id": "3", "content": "<s>"}])"}}),
       "added_tokens[0].id: expected a non-negative integer id"},
      {doc({{"added_tokens", R"([{"id": 3, "content": "<s>", "single_word": true}])"}}), "added_tokens[0].single_word"},
      {doc({{"added_tokens", R"({"id": 3})"}}), "added_tokens: expected an array"},
      {doc({{"post_processor", R"({"type": "RobertaProcessing"})"}}),
       "post_processor.type: \"RobertaProcessing\" is not supported"},
      {doc({{"post_processor", template_start + "{}}"}}),
       "post_processor.single[0].SpecialToken.id: \"<s>\" is not in post_processor.special_tokens"},
      {doc({{"post_processor", template_start + R"({"<s>": {"id": "<s>", "ids": [9], "tokens": ["<s>"]}}})"}}),
       "post_processor: special token id 9 is out of range"},
      {doc({{"post_processor", template_start + R"({"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}})"}}),
       "post_processor.special_tokens[\"<s>\"]: id 1 is not the token \"<s>\""},
      {doc({{"decoder", R"({"type": "WordPiece"})"}}), "decoder.type: \"WordPiece\" is not supported"},
      {doc({{"padding", R"({"pad_id": 99})"}}), "padding.pad_id: id 99 is out of range"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    write_file_atomic(file, text);
    CHECK_THROWS_AS(BpeTokenizer::from_file(file), BadInput);
    CHECK_THROWS_WITH(BpeTokenizer::from_file(file), Contains(file.string()) && Contains(message));
  }
  CHECK_THROWS_WITH(BpeTokenizer::from_file(dir / "missing.json"), Contains("missing.json"));
}

TEST_CASE("trainer speed on a few MB of e-mail", "[.][bpe][speed]") {
  std::vector<std::string> lines = email_lines(200000);
  if (lines.empty()) return testing::skip("the e-mail corpus is not installed (third_party/setup.sh)");
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  BpeTrainerOptions o;
  o.vocab_size = 8000;
  o.special_tokens = {"<|endoftext|>"};
  const auto start = std::chrono::steady_clock::now();
  const BpeTokenizer t = train_bpe(lines, o);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto enc_start = std::chrono::steady_clock::now();
  size_t tokens = 0;
  for (const auto& l : lines) tokens += t.encode(l).size();
  const double encode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - enc_start).count();
  WARN("trained " << t.size() << " tokens on " << lines.size() << " lines, " << bytes / 1e6 << " MB, in " << train_s
                  << " s; encoded them into " << tokens << " tokens in " << encode_s << " s (" << bytes / 1e6 / encode_s
                  << " MB/s)");
  CHECK(t.size() == 8000);
}
