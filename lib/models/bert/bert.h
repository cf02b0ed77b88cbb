#pragma once
// BERT for sequence classification with Hugging Face's module layout, so that
// named_parameters() are exactly BertForSequenceClassification's state-dict
// keys (bert.embeddings.word_embeddings.weight, bert.encoder.layer.0.attention.
// self.query.weight, ..., bert.pooler.dense.weight, classifier.weight).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/bert/bert_config.h"
#include "text/tokenizer.h"
#include "models/classifier.h"

namespace sparrow::models::bert {

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
  std::vector<std::string> attention_blocks() const override;
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
