// Fuzz target for the readers of a model's JSON configuration (tests/fuzz/CMakeLists.txt; docs/fuzzing.md):
// - a Hugging Face BERT folder's config.json and tokenizer_config.json, read as load_bert_folder reads them;
// - a Hugging Face Llama folder's config.json, read as load_llama_folder reads it;
// - the zoo's configuration (a recipe's model: section, a checkpoint's config.json) as build_model reads it
//   before constructing anything: models::check_model_config.
// The input is config.json, optionally followed by a NUL byte and tokenizer_config.json; every input goes
// through both readers. Any input must be rejected with BadInput or give a configuration a model can be
// built from.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "core/errors.h"
#include "models/bert/bert_config.h"
#include "models/llama/llama_config.h"
#include "models/model_config.h"
#include "models/model_limits.h"

namespace {

using namespace sparrow::models;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error(what);
}

bool is_size(int64_t v) { return v >= 1 && v <= kMaxModelSize; }

// What a model's constructor relies on: per-layer heads and widths in range, one name per label.
void check_bert(const bert::BertConfig& c, const std::vector<std::string>& labels) {
  c.validate("model");  // as the model's constructor does
  check(labels.empty() || static_cast<int64_t>(labels.size()) == c.num_labels, "id2label gave the wrong number of names");
  check(c.num_hidden_layers >= 1 && c.num_hidden_layers <= kMaxModelLayers, "the layer count is out of range");
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    check(c.heads_in_layer(layer) >= 1 && c.heads_in_layer(layer) <= c.num_attention_heads, "a layer's head count is out of range");
    check(is_size(c.intermediate_size_of(layer)), "a layer's FFN width is out of range");
  }
}

// What LlamaForCausalLM's constructor relies on.
void check_llama(const llama::LlamaConfig& c) {
  c.validate("model");  // as the model's constructor does
  for (const int64_t v : {c.vocab_size, c.hidden_size, c.intermediate_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim})
    check(is_size(v), "a Llama size is out of range");
  check(c.num_attention_heads % c.num_key_value_heads == 0, "query heads are not a multiple of key/value heads");
  check(c.head_dim % 2 == 0, "head_dim is odd");
}

void check_zoo(const ModelConfig& m) {
  if (const auto* cnn = std::get_if<CnnOptions>(&m)) {
    for (const int64_t v : {cnn->in_channels, cnn->conv1_channels, cnn->conv2_channels, cnn->hidden, cnn->num_classes})
      check(is_size(v), "a CNN size is out of range");
    check(cnn->image_size >= 4 && cnn->image_size <= kMaxModelSize, "the CNN's image size leaves no pixel after pooling");
    check(cnn->dropout >= 0 && cnn->dropout < 1, "the CNN's dropout is not a probability");
  } else if (const auto* resnet = std::get_if<ResNetOptions>(&m)) {
    for (const int64_t v : {resnet->width, resnet->in_channels, resnet->image_size, resnet->num_classes})
      check(is_size(v), "a ResNet size is out of range");
    check(resnet->block == "basic" || resnet->block == "bottleneck", "the ResNet's block is neither basic nor bottleneck");
    check(resnet->stem == "imagenet" || resnet->stem == "small", "the ResNet's stem is neither imagenet nor small");
    check(!resnet->layers.empty() && resnet->layers.size() <= 8, "the ResNet has no stage or more than 8");
    for (const int64_t blocks : resnet->layers) check(blocks >= 1 && blocks <= kMaxModelLayers, "a ResNet stage's block count is out of range");
    check(is_size((resnet->width << (resnet->layers.size() - 1)) * (resnet->block == "bottleneck" ? 4 : 1)),
          "the ResNet's widest stage is out of range");
  } else if (const auto* mlp = std::get_if<MlpOptions>(&m)) {
    check(is_size(mlp->in_features) && is_size(mlp->num_classes), "an MLP size is out of range");
    check(static_cast<int64_t>(mlp->hidden.size()) <= kMaxModelLayers, "the MLP has too many layers");
    for (const int64_t h : mlp->hidden) check(is_size(h), "an MLP layer width is out of range");
    check(mlp->dropout >= 0 && mlp->dropout < 1, "the MLP's dropout is not a probability");
  } else if (const auto* llama = std::get_if<llama::LlamaConfig>(&m)) {
    check_llama(*llama);
  } else {
    const auto& bert = std::get<BertModelConfig>(m);
    check_bert(bert.config, bert.labels);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
    bert::BertConfig c = bert::config_from_hf(config, "config.json");
    if (nul != std::string_view::npos)
      bert::apply_hf_tokenizer_config(tokenizer_config, config.contains("max_seq_length"), c, "tokenizer_config.json");
    check_bert(c, bert::labels_from_hf(config, c.num_labels, "config.json"));
  } catch (const sparrow::BadInput&) {
  }
  try {
    check_llama(llama::config_from_hf(config, "config.json"));
  } catch (const sparrow::BadInput&) {
  }
  try {
    check_zoo(check_model_config(config, "config.json"));
  } catch (const sparrow::BadInput&) {
  }
  return 0;
}
