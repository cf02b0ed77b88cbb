#pragma once
// BERT's configuration, and reading it from Hugging Face's config.json and tokenizer_config.json, with no
// LibTorch: the model (bert.h) is built from it, and the readers can be fuzzed alone.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparrow::models::bert {

// Hugging Face's BertConfig fields that shape the network (same names), plus
// the tokenizer settings Sparrow keeps beside them.
struct BertConfig {
  int64_t vocab_size = 8000;
  int64_t hidden_size = 128;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 2;
  int64_t intermediate_size = 512;
  int64_t max_position_embeddings = 128;
  int64_t type_vocab_size = 2;
  int64_t num_labels = 2;
  int64_t pad_token_id = 0;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  // Tokenizer: sequence length items are truncated/padded to, and case folding.
  int64_t max_seq_length = 128;
  bool do_lower_case = true;
  // Structured pruning. Hugging Face's pruned_heads: per layer, the original
  // indices of the heads removed. Sparrow's intermediate_sizes: per layer
  // FFN width once neurons are removed (empty: intermediate_size everywhere).
  std::map<int64_t, std::vector<int64_t>> pruned_heads;
  std::vector<int64_t> intermediate_sizes;

  int64_t heads_in_layer(int64_t layer) const;
  int64_t intermediate_size_of(int64_t layer) const;

  // Throws BadInput (prefixed by `context`) on an inconsistent configuration.
  void validate(const std::string& context) const;
};

// Reads pruned_heads ({"0": [1], ...}, HF's form) and intermediate_sizes
// (null when absent) into `c`; BadInput prefixed by `context`.
void read_pruning_fields(const nlohmann::json& pruned_heads, const nlohmann::json& intermediate_sizes, BertConfig& c,
                         const std::string& context);

// Reads an HF config.json object. Keys that shape the model are checked
// (hidden_act must be "gelu", position_embedding_type "absolute"); keys HF
// adds for its own bookkeeping are ignored.
BertConfig config_from_hf(const nlohmann::json& config, const std::string& context);
// id2label of an HF config, in id order (empty when absent).
std::vector<std::string> labels_from_hf(const nlohmann::json& config, int64_t num_labels, const std::string& context);
// tokenizer_config.json is HF's word on case folding, and on length unless config.json sets max_seq_length.
void apply_hf_tokenizer_config(const nlohmann::json& tokenizer_config, bool config_sets_length, BertConfig& c,
                               const std::string& context);

}  // namespace sparrow::models::bert
