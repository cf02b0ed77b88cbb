// Fuzz target for the readers of a Hugging Face BERT folder's config.json and tokenizer_config.json
// (tests/fuzz/CMakeLists.txt; docs/fuzzing.md). The input is config.json, optionally followed by a NUL
// byte and tokenizer_config.json; they are read as load_bert_folder reads them. Any input must be
// rejected with BadInput or give a configuration the model can be built from.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/errors.h"
#include "models/bert/bert_config.h"

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::models::bert;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  // Text that is not JSON is the JSON library's to reject (load_bert_folder turns that into BadInput).
  const nlohmann::json config = nlohmann::json::parse(input.substr(0, nul), nullptr, false);
  if (config.is_discarded()) return 0;
  nlohmann::json tokenizer_config;
  if (nul != std::string_view::npos) {
    tokenizer_config = nlohmann::json::parse(input.substr(nul + 1), nullptr, false);
    if (tokenizer_config.is_discarded()) return 0;
  }
  try {
    BertConfig c = config_from_hf(config, "config.json");
    if (nul != std::string_view::npos)
      apply_hf_tokenizer_config(tokenizer_config, config.contains("max_seq_length"), c, "tokenizer_config.json");
    const auto labels = labels_from_hf(config, c.num_labels, "config.json");
    c.validate("model");  // as the model's constructor does
    check(labels.empty() || static_cast<int64_t>(labels.size()) == c.num_labels, "id2label gave the wrong number of names");
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
      check(c.heads_in_layer(layer) >= 1 && c.heads_in_layer(layer) <= c.num_attention_heads, "a layer's head count is out of range");
      check(c.intermediate_size_of(layer) >= 1, "a layer's FFN width is not positive");
    }
  } catch (const sparrow::BadInput&) {
  }
  return 0;
}
