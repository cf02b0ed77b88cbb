#pragma once
// BERT for sequence classification with Hugging Face's module layout, so that
// named_parameters() are exactly BertForSequenceClassification's state-dict
// keys (bert.embeddings.word_embeddings.weight, bert.encoder.layer.0.attention.
// self.query.weight, ..., bert.pooler.dense.weight, classifier.weight).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "models/classifier.h"

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

namespace detail {

struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(const BertConfig& c, int64_t layer);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  torch::nn::Dropout dropout{nullptr};
  int64_t heads, head_size;
};
TORCH_MODULE(SelfAttention);

// A dense layer + dropout + residual LayerNorm: HF's BertSelfOutput / BertOutput.
struct ResidualOutputImpl : torch::nn::Module {
  ResidualOutputImpl(int64_t in, const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ResidualOutput);

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(const BertConfig& c, int64_t layer);
  SelfAttention self{nullptr};
  ResidualOutput output{nullptr};
};
TORCH_MODULE(Attention);

struct IntermediateImpl : torch::nn::Module {
  IntermediateImpl(const BertConfig& c, int64_t layer);
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(Intermediate);

struct LayerImpl : torch::nn::Module {
  LayerImpl(const BertConfig& c, int64_t layer);
  // `mask_bias` is [B, 1, 1, L]: 0 where a token is attended to, a large negative where it is padding.
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask_bias);
  Attention attention{nullptr};
  Intermediate intermediate{nullptr};
  ResidualOutput output{nullptr};
};
TORCH_MODULE(Layer);

struct EmbeddingsImpl : torch::nn::Module {
  explicit EmbeddingsImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& input_ids);
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Embeddings);

struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(const BertConfig& c);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(Encoder);

struct PoolerImpl : torch::nn::Module {
  explicit PoolerImpl(const BertConfig& c);
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(Pooler);

struct BertModelImpl : torch::nn::Module {
  explicit BertModelImpl(const BertConfig& c);
  Embeddings embeddings{nullptr};
  Encoder encoder{nullptr};
  Pooler pooler{nullptr};
};
TORCH_MODULE(BertModel);

}  // namespace detail

class BertForSequenceClassification : public Classifier {
 public:
  explicit BertForSequenceClassification(const BertConfig& config);

  // batch.inputs: [B, L] int64 token ids (L <= max_position_embeddings);
  // batch.attention_mask: [B, L], 1 for tokens and 0 for padding (undefined: all tokens).
  torch::Tensor forward(const data::Batch& batch) override;
  // hidden_states: the embeddings' output, then each encoder layer's (num_hidden_layers + 1 of [B, L, hidden]).
  torch::Tensor forward_with_hidden_states(const data::Batch& batch, std::vector<torch::Tensor>& hidden_states) override;
  bool has_hidden_states() const override { return true; }
  // The encoder's linear weights: Q, K, V, attention output, intermediate and
  // output of every layer. Embeddings, pooler and classifier stay dense: the
  // embeddings are lookups (no compute to save), and the pooler and classifier
  // run once per sequence instead of once per token, so pruning them saves
  // almost nothing while costing accuracy.
  std::vector<std::string> prunable_parameters() const override;
  // Hugging Face's config.json keys plus "name": "bert" and the tokenizer settings.
  nlohmann::json config() const override;
  // Heads (group: each layer's attention), FFN neurons (each layer's
  // intermediate) and whole encoder layers (group: bert.encoder).
  std::vector<models::StructureGroup> structure_groups(models::StructureKind kind) const override;
  void remove_units(models::StructureKind kind, const std::string& group, const std::vector<int64_t>& units) override;

  const BertConfig& bert_config() const { return config_; }
  // Sequence length items are encoded to (the architecture is unchanged); BadInput outside [2, max_position_embeddings].
  void set_max_seq_length(int64_t length);
  // The vocabulary the model's ids refer to; null until one is set.
  const std::shared_ptr<const text::Tokenizer>& tokenizer() const { return tokenizer_; }
  void set_tokenizer(std::shared_ptr<const text::Tokenizer> tokenizer);
  // Label names, saved as id2label (default LABEL_0, LABEL_1, ... as HF does).
  std::vector<std::string> labels;

 private:
  void init_weights();
  // The forward pass; appends each hidden state to `hidden_states` unless it is null.
  torch::Tensor run(const data::Batch& batch, std::vector<torch::Tensor>* hidden_states);
  detail::LayerImpl& layer(int64_t i) const;
  void remove_heads(int64_t layer, const std::vector<int64_t>& heads);
  void remove_neurons(int64_t layer, const std::vector<int64_t>& neurons);
  void remove_layers(const std::vector<int64_t>& layers);

  BertConfig config_;
  detail::BertModel bert_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  std::shared_ptr<const text::Tokenizer> tokenizer_;
};

}  // namespace sparrow::models::bert
