#include "models/bert/bert.h"

#include <cmath>
#include <limits>

#include "core/errors.h"

namespace sparrow::models::bert {

namespace nn = torch::nn;

void BertConfig::validate(const std::string& context) const {
  const auto positive = [&](const char* name, int64_t v) {
    if (v <= 0) throw BadInput(context + ": " + name + " must be > 0, got " + std::to_string(v));
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("type_vocab_size", type_vocab_size);
  positive("num_labels", num_labels);
  if (hidden_size % num_attention_heads != 0)
    throw BadInput(context + ": hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
                   std::to_string(num_attention_heads));
  if (max_seq_length < 2 || max_seq_length > max_position_embeddings)
    throw BadInput(context + ": max_seq_length " + std::to_string(max_seq_length) + " must be in [2, max_position_embeddings = " +
                   std::to_string(max_position_embeddings) + "]");
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    throw BadInput(context + ": pad_token_id " + std::to_string(pad_token_id) + " is outside the vocabulary");
  for (const auto& [name, p] : {std::pair{"hidden_dropout_prob", hidden_dropout_prob},
                                std::pair{"attention_probs_dropout_prob", attention_probs_dropout_prob}})
    if (p < 0 || p >= 1) throw BadInput(context + ": " + name + " must be in [0, 1), got " + std::to_string(p));
  if (layer_norm_eps <= 0) throw BadInput(context + ": layer_norm_eps must be > 0");
}

namespace detail {

SelfAttentionImpl::SelfAttentionImpl(const BertConfig& c)
    : heads(c.num_attention_heads), head_size(c.hidden_size / c.num_attention_heads) {
  query = register_module("query", nn::Linear(c.hidden_size, c.hidden_size));
  key = register_module("key", nn::Linear(c.hidden_size, c.hidden_size));
  value = register_module("value", nn::Linear(c.hidden_size, c.hidden_size));
  dropout = register_module("dropout", nn::Dropout(c.attention_probs_dropout_prob));
}

ResidualOutputImpl::ResidualOutputImpl(int64_t in, const BertConfig& c) {
  dense = register_module("dense", nn::Linear(in, c.hidden_size));
  LayerNorm = register_module("LayerNorm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  dropout = register_module("dropout", nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor ResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm->forward(dropout->forward(linear(dense, x)) + residual);
}

AttentionImpl::AttentionImpl(const BertConfig& c) {
  self = register_module("self", SelfAttention(c));
  output = register_module("output", ResidualOutput(c.hidden_size, c));
}

IntermediateImpl::IntermediateImpl(const BertConfig& c) {
  dense = register_module("dense", nn::Linear(c.hidden_size, c.intermediate_size));
}

LayerImpl::LayerImpl(const BertConfig& c) {
  attention = register_module("attention", Attention(c));
  intermediate = register_module("intermediate", Intermediate(c));
  output = register_module("output", ResidualOutput(c.intermediate_size, c));
}

torch::Tensor LayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& mask_bias) {
  auto& sa = *attention->self;
  const int64_t B = hidden.size(0), L = hidden.size(1);
  const auto heads = [&](const torch::Tensor& x) { return x.view({B, L, sa.heads, sa.head_size}).transpose(1, 2); };
  const auto q = heads(linear(sa.query, hidden));
  const auto k = heads(linear(sa.key, hidden));
  const auto v = heads(linear(sa.value, hidden));
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(sa.head_size));
  if (mask_bias.defined()) scores = scores + mask_bias;
  const auto probs = sa.dropout->forward(torch::softmax(scores, -1));
  const auto context = torch::matmul(probs, v).transpose(1, 2).reshape({B, L, sa.heads * sa.head_size});
  const auto attended = attention->output->forward(context, hidden);
  // Exact (erf) GELU, HF's "gelu".
  const auto inner = torch::gelu(linear(intermediate->dense, attended));
  return output->forward(inner, attended);
}

EmbeddingsImpl::EmbeddingsImpl(const BertConfig& c) {
  word_embeddings = register_module("word_embeddings", nn::Embedding(nn::EmbeddingOptions(c.vocab_size, c.hidden_size)));
  position_embeddings =
      register_module("position_embeddings", nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_embeddings = register_module("token_type_embeddings", nn::Embedding(c.type_vocab_size, c.hidden_size));
  LayerNorm = register_module("LayerNorm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  dropout = register_module("dropout", nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor EmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  const int64_t L = input_ids.size(1);
  const auto positions = torch::arange(L, input_ids.options());
  // Single-segment inputs: every token has type 0.
  const auto x = word_embeddings->forward(input_ids) + position_embeddings->forward(positions).unsqueeze(0) +
                 token_type_embeddings->weight[0];
  return dropout->forward(LayerNorm->forward(x));
}

EncoderImpl::EncoderImpl(const BertConfig& c) {
  layer = register_module("layer", nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(Layer(c));
}

PoolerImpl::PoolerImpl(const BertConfig& c) { dense = register_module("dense", nn::Linear(c.hidden_size, c.hidden_size)); }

BertModelImpl::BertModelImpl(const BertConfig& c) {
  embeddings = register_module("embeddings", Embeddings(c));
  encoder = register_module("encoder", Encoder(c));
  pooler = register_module("pooler", Pooler(c));
}

}  // namespace detail

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& config) : config_(config) {
  config_.validate("model");
  bert_ = register_module("bert", detail::BertModel(config_));
  dropout_ = register_module("dropout", nn::Dropout(config_.hidden_dropout_prob));
  classifier_ = register_module("classifier", nn::Linear(config_.hidden_size, config_.num_labels));
  for (int64_t i = 0; i < config_.num_labels; ++i) labels.push_back("LABEL_" + std::to_string(i));
  init_weights();
}

void BertForSequenceClassification::init_weights() {
  // HF's BertPreTrainedModel._init_weights: N(0, initializer_range) for linear and
  // embedding weights, zero biases, the padding row zero, LayerNorm at identity.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* linear = m->as<nn::Linear>()) {
      linear->weight.normal_(0.0, config_.initializer_range);
      linear->bias.zero_();
    } else if (auto* emb = m->as<nn::Embedding>()) {
      emb->weight.normal_(0.0, config_.initializer_range);
    } else if (auto* ln = m->as<nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
  bert_->embeddings->word_embeddings->weight[config_.pad_token_id].zero_();
}

torch::Tensor BertForSequenceClassification::forward(const data::Batch& batch) {
  const auto& ids = batch.inputs;
  if (ids.dim() != 2 || ids.scalar_type() != torch::kInt64)
    throw BadInput("bert: inputs must be [batch, length] int64 token ids");
  if (ids.size(1) > config_.max_position_embeddings)
    throw BadInput("bert: sequence length " + std::to_string(ids.size(1)) + " exceeds max_position_embeddings " +
                   std::to_string(config_.max_position_embeddings));
  torch::Tensor mask_bias;
  if (batch.attention_mask.defined()) {
    // HF's extended attention mask: (1 - mask) * the dtype's lowest value, broadcast over heads and queries.
    const auto keep = batch.attention_mask.to(torch::kFloat32).view({ids.size(0), 1, 1, ids.size(1)});
    mask_bias = (1.0 - keep) * std::numeric_limits<float>::lowest();
  }
  auto hidden = bert_->embeddings->forward(ids);
  for (const auto& layer : *bert_->encoder->layer) hidden = layer->as<detail::Layer>()->forward(hidden, mask_bias);
  const auto pooled = torch::tanh(linear(bert_->pooler->dense, hidden.select(1, 0)));
  return linear(classifier_, dropout_->forward(pooled));
}

std::vector<std::string> BertForSequenceClassification::prunable_parameters() const {
  std::vector<std::string> names;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                          "intermediate.dense", "output.dense"})
      names.push_back(p + m + ".weight");
  }
  return names;
}

nlohmann::json BertForSequenceClassification::config() const {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = i;
  }
  const auto& c = config_;
  return {{"name", "bert"},
          {"architectures", {"BertForSequenceClassification"}},
          {"model_type", "bert"},
          {"hidden_act", "gelu"},
          {"position_embedding_type", "absolute"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"intermediate_size", c.intermediate_size},
          {"max_position_embeddings", c.max_position_embeddings},
          {"type_vocab_size", c.type_vocab_size},
          {"pad_token_id", c.pad_token_id},
          {"hidden_dropout_prob", c.hidden_dropout_prob},
          {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
          {"layer_norm_eps", c.layer_norm_eps},
          {"initializer_range", c.initializer_range},
          {"id2label", id2label},
          {"label2id", label2id},
          {"max_seq_length", c.max_seq_length},
          {"do_lower_case", c.do_lower_case}};
}

void BertForSequenceClassification::set_max_seq_length(int64_t length) {
  BertConfig c = config_;
  c.max_seq_length = length;
  c.validate("model");
  config_ = c;
}

void BertForSequenceClassification::set_tokenizer(std::shared_ptr<const data::text::Tokenizer> tokenizer) {
  if (tokenizer && tokenizer->size() != config_.vocab_size)
    throw BadInput("bert: the vocabulary has " + std::to_string(tokenizer->size()) + " tokens but vocab_size is " +
                   std::to_string(config_.vocab_size));
  if (tokenizer && tokenizer->pad_id() != config_.pad_token_id)
    throw BadInput("bert: [PAD] has id " + std::to_string(tokenizer->pad_id()) + " but pad_token_id is " +
                   std::to_string(config_.pad_token_id));
  tokenizer_ = std::move(tokenizer);
}

}  // namespace sparrow::models::bert
