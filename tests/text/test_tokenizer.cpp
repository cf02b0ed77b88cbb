// BERT's basic + WordPiece tokenizer on tricky text, vocab.txt in and out, and
// the WordPiece vocabulary trainer.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "text/tokenizer.h"
#include "text/wordpiece_trainer.h"

using namespace sparrow;
using namespace sparrow::text;
using Words = std::vector<std::string>;

namespace {

Tokenizer toy_tokenizer(bool lower = true) {
  BasicTokenizerOptions o;
  o.do_lower_case = o.strip_accents = lower;
  return Tokenizer({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "want", "##ed", "runn", "##ing",
                    ",", "!", "cafe", "我", "##s"},
                   o);
}

}  // namespace

TEST_CASE("basic tokenizer: case, accents, punctuation, CJK, control characters", "[tokenizer]") {
  const BasicTokenizerOptions lower;
  CHECK(basic_tokenize("Héllo, WORLD!  naïve\tCAFÉ", lower) == Words{"hello", ",", "world", "!", "naive", "cafe"});
  CHECK(basic_tokenize("don't stop-me now...", lower) == Words{"don", "'", "t", "stop", "-", "me", "now", ".", ".", "."});
  CHECK(basic_tokenize("$5 @home #1 (a)", lower) == Words{"$", "5", "@", "home", "#", "1", "(", "a", ")"});
  CHECK(basic_tokenize("我爱NLP和BERT", lower) == Words{"我", "爱", "nlp", "和", "bert"});
  CHECK(basic_tokenize("«quote» a—b ¿qué?", lower) == Words{"«", "quote", "»", "a", "—", "b", "¿", "que", "?"});
  CHECK(basic_tokenize("a\x01" "b\xc2\xa0" "c\r\nd", lower) == Words{"ab", "c", "d"});
  CHECK(basic_tokenize("e\xcc\x81t\xc3\xa9 \xc5\x81\xc3\xb3" "d\xc5\xba", lower) == Words{"ete", "\xc5\x82odz"});  // combining acute; Ł has no decomposition
  CHECK(basic_tokenize("ΑΒΓ Привет", lower) == Words{"αβγ", "привет"});
  CHECK(basic_tokenize("bad \xff\xfe bytes", lower) == Words{"bad", "bytes"});
  CHECK(basic_tokenize("   ", lower).empty());

  BasicTokenizerOptions cased;
  cased.do_lower_case = cased.strip_accents = false;
  CHECK(basic_tokenize("Héllo, WORLD", cased) == Words{"Héllo", ",", "WORLD"});
}

TEST_CASE("WordPiece: greedy longest match, ## continuations, unknown words", "[tokenizer]") {
  const Tokenizer t = toy_tokenizer();
  CHECK(t.tokenize("unaffable") == Words{"un", "##aff", "##able"});
  CHECK(t.tokenize("UNwanted, running!") == Words{"[UNK]", ",", "runn", "##ing", "!"});
  CHECK(t.tokenize("wanted wants") == Words{"want", "##ed", "want", "##s"});
  CHECK(t.tokenize("xyz café 我") == Words{"[UNK]", "cafe", "我"});
  CHECK(t.tokenize(std::string(101, 'a')) == Words{"[UNK]"});
  CHECK(t.tokenize("wanted running wanted", 3) == Words{"want", "##ed", "runn"});
  CHECK(t.id("##able") == 7);
  CHECK(t.id("nope") == t.unk_id());
  CHECK(t.token(8) == "want");
  CHECK_THROWS_AS(t.token(99), BadInput);
}

TEST_CASE("encode: [CLS] ... [SEP], truncation and padding to the sequence length", "[tokenizer]") {
  const Tokenizer t = toy_tokenizer();
  const auto short_enc = t.encode("want", 6);
  CHECK(short_enc.ids == std::vector<int64_t>{2, 8, 3, 0, 0, 0});
  CHECK(short_enc.mask == std::vector<int64_t>{1, 1, 1, 0, 0, 0});
  const auto cut = t.encode("wanted running unaffable", 5);
  CHECK(cut.ids == std::vector<int64_t>{2, 8, 9, 10, 3});
  CHECK(cut.mask == std::vector<int64_t>{1, 1, 1, 1, 1});
  CHECK(t.encode("", 3).ids == std::vector<int64_t>{2, 3, 0});
  CHECK_THROWS_AS(t.encode("x", 1), BadInput);
}

TEST_CASE("vocab.txt round trip and validation", "[tokenizer]") {
  const fs::path file = fs::temp_directory_path() / "sparrow_test_vocab.txt";
  const Tokenizer t = toy_tokenizer();
  t.save(file);
  const Tokenizer back = Tokenizer::from_file(file, t.options());
  CHECK(back.vocab() == t.vocab());
  CHECK(back.tokenize("unaffable café") == t.tokenize("unaffable café"));
  CHECK(read_file(file).rfind("[PAD]\n[UNK]\n", 0) == 0);

  write_file_atomic(file, "[PAD]\n[CLS]\n[SEP]\nhello\n");
  CHECK_THROWS_WITH(Tokenizer::from_file(file, {}), Catch::Contains("[UNK]") && Catch::Contains(file.string()));
  write_file_atomic(file, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n");
  CHECK_THROWS_WITH(Tokenizer::from_file(file, {}), Catch::Contains("line 6") && Catch::Contains("twice"));
  write_file_atomic(file, "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n");
  CHECK(Tokenizer::from_file(file, {}).id("hi") == 4);
  fs::remove(file);
}

TEST_CASE("WordPiece trainer builds a vocabulary that covers its corpus", "[tokenizer]") {
  const std::vector<std::string> corpus = {"low lower lowest newer newest", "wider widest low low lower",
                                           "The newest, lowest prices!", "Café newer"};
  WordPieceTrainerOptions o;
  o.vocab_size = 60;
  const auto vocab = train_wordpiece(corpus, {}, o);
  CHECK(vocab.size() <= 60);
  CHECK(Words(vocab.begin(), vocab.begin() + 5) == Words{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"});
  CHECK(std::find(vocab.begin(), vocab.end(), "low") != vocab.end());
  CAPTURE(vocab);
  CHECK(std::find(vocab.begin(), vocab.end(), "##st") != vocab.end());
  CHECK(train_wordpiece(corpus, {}, o) == vocab);  // deterministic

  const Tokenizer t(vocab, {});
  for (const auto& text : corpus)
    for (const auto& piece : t.tokenize(text)) CHECK(piece != "[UNK]");
  CHECK(t.tokenize("lowest") == Words{"lowest"});

  o.vocab_size = 5;
  CHECK_THROWS_AS(train_wordpiece(corpus, {}, o), BadInput);
}
