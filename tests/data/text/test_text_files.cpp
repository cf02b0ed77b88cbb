// JSONL and CSV text classification files; a malformed line names file and line.
#include <catch2/catch.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/text_dataset.h"

using namespace sparrow;
using namespace sparrow::data::text;
using Catch::Contains;

namespace {

fs::path write_temp(const std::string& name, const std::string& content) {
  const fs::path p = fs::temp_directory_path() / ("sparrow_test_" + name);
  write_file_atomic(p, content);
  return p;
}

}  // namespace

TEST_CASE("JSONL: string or integer labels, blank lines skipped", "[text_files]") {
  const auto f = write_temp("a.jsonl", "{\"text\": \"good \\u00e9\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": \"neg\"}\r\n");
  const auto d = load_jsonl(f);
  CHECK(d.texts == std::vector<std::string>{"good \xc3\xa9", "bad"});
  CHECK(d.label_names == std::vector<std::string>{"neg", "pos"});
  CHECK(d.labels == std::vector<int64_t>{1, 0});
  const auto ints = load_jsonl(write_temp("b.jsonl", "{\"text\":\"x\",\"label\":2}\n{\"text\":\"y\",\"label\":0}\n"));
  CHECK(ints.label_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(ints.labels == std::vector<int64_t>{2, 0});
}

TEST_CASE("JSONL: malformed lines are named", "[text_files]") {
  const auto bad_json = write_temp("c.jsonl", "{\"text\":\"x\",\"label\":1}\n{\"text\": \"y\", \"label\": \n");
  CHECK_THROWS_WITH(load_jsonl(bad_json), Contains(bad_json.string() + ":2") && Contains("JSON"));
  const auto no_label = write_temp("d.jsonl", "{\"text\":\"x\"}\n");
  CHECK_THROWS_WITH(load_jsonl(no_label), Contains(":1") && Contains("label"));
  const auto mixed = write_temp("e.jsonl", "{\"text\":\"x\",\"label\":1}\n{\"text\":\"y\",\"label\":\"a\"}\n");
  CHECK_THROWS_WITH(load_jsonl(mixed), Contains(":2") && Contains("mix"));
  const auto bad_type = write_temp("f.jsonl", "{\"text\":3,\"label\":1}\n");
  CHECK_THROWS_AS(load_jsonl(bad_type), BadInput);
  // Found by tests/fuzz (fuzz_csv): an id of 10^16 meant building 10^16 label names, and 2^20 took seconds.
  const auto huge_id = write_temp("h.jsonl", "{\"text\":\"x\",\"label\":0}\n{\"text\":\"y\",\"label\":12345678901234567}\n");
  CHECK_THROWS_WITH(load_jsonl(huge_id), Contains(huge_id.string() + ":2: label id 12345678901234567 is above 65535"));
}

TEST_CASE("CSV: header, quoting, embedded commas and line breaks", "[text_files]") {
  const auto f = write_temp("a.csv",
                            "id,label,text\n"
                            "1,spam,\"Buy now, \"\"cheap\"\"\"\n"
                            "2,ham,\"two\nlines\"\r\n"
                            "3,ham,plain\n");
  const auto d = load_csv(f);
  CHECK(d.texts == std::vector<std::string>{"Buy now, \"cheap\"", "two\nlines", "plain"});
  CHECK(d.labels == std::vector<int64_t>{1, 0, 0});
  CHECK(d.label_names == std::vector<std::string>{"ham", "spam"});
}

TEST_CASE("CSV: malformed lines are named", "[text_files]") {
  const auto fields = write_temp("b.csv", "text,label\nok,1\n\"a\nb\",1\ntoo,many,fields\n");
  CHECK_THROWS_WITH(load_csv(fields), Contains(fields.string() + ":5") && Contains("expected 2 fields"));
  const auto open_quote = write_temp("c.csv", "text,label\n\"never closed,1\n");
  CHECK_THROWS_WITH(load_csv(open_quote), Contains(":2") && Contains("never closed"));
  const auto no_col = write_temp("d.csv", "body,label\nx,1\n");
  CHECK_THROWS_WITH(load_csv(no_col), Contains(":1") && Contains("'text'"));
  const auto stray = write_temp("e.csv", "text,label\n\"x\"y,1\n");
  CHECK_THROWS_WITH(load_csv(stray), Contains(":2") && Contains("quote"));
  CHECK_THROWS_WITH(load_text_file(write_temp("g.txt", "x")), Contains(".jsonl or .csv"));
}

TEST_CASE("A text file as a recipe dataset: deterministic 80/20 split and limits", "[text_files]") {
  std::string content;
  for (int i = 0; i < 200; ++i) content += "{\"text\":\"item " + std::to_string(i) + "\",\"label\":" + std::to_string(i % 2) + "}\n";
  const auto f = write_temp("split.jsonl", content);
  recipe::DataSpec spec;
  spec.dataset = "jsonl";
  spec.path = f.string();
  const auto train = load_text_dataset(spec, data::Split::Train);
  const auto test = load_text_dataset(spec, data::Split::Test);
  CHECK(train.size() + test.size() == 200);
  CHECK(test.size() > 20);
  CHECK(test.size() < 60);
  for (const auto& t : test.texts) CHECK(std::find(train.texts.begin(), train.texts.end(), t) == train.texts.end());
  spec.train_limit = 10;
  CHECK(load_text_dataset(spec, data::Split::Train).texts ==
        std::vector<std::string>(train.texts.begin(), train.texts.begin() + 10));
  spec.dataset = "csv";
  CHECK_THROWS_WITH(load_text_dataset(spec, data::Split::Train), Contains("not a .csv file"));
}

TEST_CASE("encode_dataset produces ids, mask and labels", "[text_files]") {
  const sparrow::text::Tokenizer t({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"}, {});
  TextDataset d;
  d.name = "x";
  d.texts = {"hello world", "hello there world again"};
  d.labels = {1, 0};
  d.label_names = {"a", "b"};
  const auto enc = encode_dataset(d, t, 5);
  CHECK(enc.inputs.sizes() == torch::IntArrayRef({2, 5}));
  CHECK(torch::equal(enc.inputs[0], torch::tensor({2, 4, 5, 3, 0}, torch::kInt64)));
  CHECK(torch::equal(enc.inputs[1], torch::tensor({2, 4, 1, 5, 3}, torch::kInt64)));
  CHECK(torch::equal(enc.attention_mask[0], torch::tensor({1, 1, 1, 1, 0}, torch::kInt64)));
  CHECK(torch::equal(enc.labels, torch::tensor({1, 0}, torch::kInt64)));
}
