#include "models/bert/bert.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace sparrow::models::bert {

namespace nn = torch::nn;

namespace detail {

SelfAttentionImpl::SelfAttentionImpl(const BertConfig& c, int64_t layer)
    : heads(c.heads_in_layer(layer)), head_size(c.hidden_size / c.num_attention_heads) {
  query = register_module("query", nn::Linear(c.hidden_size, heads * head_size));
  key = register_module("key", nn::Linear(c.hidden_size, heads * head_size));
  value = register_module("value", nn::Linear(c.hidden_size, heads * head_size));
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

AttentionImpl::AttentionImpl(const BertConfig& c, int64_t layer) {
  self = register_module("self", SelfAttention(c, layer));
  output = register_module("output", ResidualOutput(self->heads * self->head_size, c));
}

IntermediateImpl::IntermediateImpl(const BertConfig& c, int64_t layer) {
  dense = register_module("dense", nn::Linear(c.hidden_size, c.intermediate_size_of(layer)));
}

LayerImpl::LayerImpl(const BertConfig& c, int64_t layer) {
  attention = register_module("attention", Attention(c, layer));
  intermediate = register_module("intermediate", Intermediate(c, layer));
  output = register_module("output", ResidualOutput(c.intermediate_size_of(layer), c));
}

torch::Tensor LayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& mask_bias) {
  auto& sa = *attention->self;
  const int64_t B = hidden.size(0), L = hidden.size(1);
  const auto heads = [&](const torch::Tensor& x) { return x.view({B, L, sa.heads, sa.head_size}).transpose(1, 2); };
  const auto q = heads(linear(sa.query, hidden));
  const auto k = heads(linear(sa.key, hidden));
  const auto v = heads(linear(sa.value, hidden));
  const auto context = models::attention(sa, {q, k, v, mask_bias, sa.head_size, sa.dropout})
                           .transpose(1, 2)
                           .reshape({B, L, sa.heads * sa.head_size});
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
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(Layer(c, i));
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

torch::Tensor BertForSequenceClassification::forward(const data::Batch& batch) { return run(batch, nullptr); }

torch::Tensor BertForSequenceClassification::forward_with_hidden_states(const data::Batch& batch,
                                                                        std::vector<torch::Tensor>& hidden_states) {
  hidden_states.clear();
  return run(batch, &hidden_states);
}

torch::Tensor BertForSequenceClassification::run(const data::Batch& batch, std::vector<torch::Tensor>* hidden_states) {
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
  if (hidden_states) hidden_states->push_back(hidden);
  for (const auto& layer : *bert_->encoder->layer) {
    hidden = layer->as<detail::Layer>()->forward(hidden, mask_bias);
    if (hidden_states) hidden_states->push_back(hidden);
  }
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

std::vector<std::string> BertForSequenceClassification::attention_blocks() const {
  std::vector<std::string> names;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    names.push_back("bert.encoder.layer." + std::to_string(i) + ".attention.self");
  return names;
}

nlohmann::json BertForSequenceClassification::config() const {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = i;
  }
  const auto& c = config_;
  nlohmann::json j = {{"name", "bert"},
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
  nlohmann::json pruned = nlohmann::json::object();
  for (const auto& [layer, heads] : c.pruned_heads) pruned[std::to_string(layer)] = heads;
  j["pruned_heads"] = pruned;
  if (!c.intermediate_sizes.empty()) j["intermediate_sizes"] = c.intermediate_sizes;
  return j;
}

detail::LayerImpl& BertForSequenceClassification::layer(int64_t i) const {
  return *bert_->encoder->layer->children()[static_cast<size_t>(i)]->as<detail::LayerImpl>();
}

std::vector<models::StructureGroup> BertForSequenceClassification::structure_groups(models::StructureKind kind) const {
  std::vector<models::StructureGroup> groups;
  const int64_t head_size = config_.hidden_size / config_.num_attention_heads;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    if (kind == models::StructureKind::Heads) {
      // A head owns its rows of Q, K and V and its columns of the attention output.
      models::StructureGroup g{p + "attention", config_.heads_in_layer(i), {}, {}};
      for (const char* m : {"query", "key", "value"}) {
        g.slices.push_back({p + "attention.self." + m + ".weight", 0, head_size});
        g.slices.push_back({p + "attention.self." + m + ".bias", 0, head_size});
      }
      g.slices.push_back({p + "attention.output.dense.weight", 1, head_size});
      groups.push_back(g);
    } else if (kind == models::StructureKind::Neurons) {
      models::StructureGroup g{p + "intermediate", config_.intermediate_size_of(i), {}, {}};
      g.slices = {{p + "intermediate.dense.weight", 0, 1}, {p + "intermediate.dense.bias", 0, 1}, {p + "output.dense.weight", 1, 1}};
      groups.push_back(g);
    }
  }
  if (kind == models::StructureKind::Layers) {
    models::StructureGroup g{"bert.encoder", config_.num_hidden_layers, {}, {}};
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
      const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
      std::vector<std::string> names;
      for (const auto& q : layer(i).named_parameters()) names.push_back(p + q.key());
      g.unit_params.push_back(names);
    }
    groups.push_back(g);
  }
  return groups;
}

void BertForSequenceClassification::remove_units(models::StructureKind kind, const std::string& group,
                                                  const std::vector<int64_t>& units) {
  const auto layer_of = [&](const std::string& suffix) {
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
      if (group == "bert.encoder.layer." + std::to_string(i) + "." + suffix) return i;
    throw InternalError("bert: no group '" + group + "'");
  };
  if (units.empty()) return;
  switch (kind) {
    case models::StructureKind::Heads: remove_heads(layer_of("attention"), units); break;
    case models::StructureKind::Neurons: remove_neurons(layer_of("intermediate"), units); break;
    case models::StructureKind::Layers: remove_layers(units); break;
    case models::StructureKind::Channels: throw InternalError("bert: has no channels");
  }
}

void BertForSequenceClassification::remove_heads(int64_t i, const std::vector<int64_t>& heads) {
  auto& sa = *layer(i).attention->self;
  if (static_cast<int64_t>(heads.size()) >= sa.heads) throw InternalError("bert: cannot remove every head of a layer");
  const auto keep = models::kept_indices(sa.heads, sa.head_size, heads);
  sa.query = sa.replace_module("query", models::shrink_linear(sa.query, keep, {}));
  sa.key = sa.replace_module("key", models::shrink_linear(sa.key, keep, {}));
  sa.value = sa.replace_module("value", models::shrink_linear(sa.value, keep, {}));
  auto& out = *layer(i).attention->output;
  out.dense = out.replace_module("dense", models::shrink_linear(out.dense, {}, keep));
  // pruned_heads holds original head indices: map the current ones back.
  auto& pruned = config_.pruned_heads[i];
  std::vector<int64_t> original;
  for (int64_t h = 0; h < config_.num_attention_heads; ++h)
    if (std::find(pruned.begin(), pruned.end(), h) == pruned.end()) original.push_back(h);
  for (const auto h : heads) pruned.push_back(original[static_cast<size_t>(h)]);
  std::sort(pruned.begin(), pruned.end());
  sa.heads -= static_cast<int64_t>(heads.size());
}

void BertForSequenceClassification::remove_neurons(int64_t i, const std::vector<int64_t>& neurons) {
  auto& L = layer(i);
  const int64_t width = config_.intermediate_size_of(i);
  if (static_cast<int64_t>(neurons.size()) >= width) throw InternalError("bert: cannot remove every FFN neuron of a layer");
  const auto keep = models::kept_indices(width, 1, neurons);
  L.intermediate->dense = L.intermediate->replace_module("dense", models::shrink_linear(L.intermediate->dense, keep, {}));
  L.output->dense = L.output->replace_module("dense", models::shrink_linear(L.output->dense, {}, keep));
  if (config_.intermediate_sizes.empty())
    config_.intermediate_sizes.assign(static_cast<size_t>(config_.num_hidden_layers), config_.intermediate_size);
  config_.intermediate_sizes[static_cast<size_t>(i)] = width - static_cast<int64_t>(neurons.size());
}

void BertForSequenceClassification::remove_layers(const std::vector<int64_t>& layers) {
  if (static_cast<int64_t>(layers.size()) >= config_.num_hidden_layers)
    throw InternalError("bert: cannot remove every encoder layer");
  nn::ModuleList kept;
  BertConfig c = config_;
  c.pruned_heads.clear();
  c.intermediate_sizes.clear();
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    if (std::find(layers.begin(), layers.end(), i) != layers.end()) continue;
    const auto n = static_cast<int64_t>(kept->size());
    if (const auto it = config_.pruned_heads.find(i); it != config_.pruned_heads.end()) c.pruned_heads[n] = it->second;
    if (!config_.intermediate_sizes.empty()) c.intermediate_sizes.push_back(config_.intermediate_sizes[static_cast<size_t>(i)]);
    kept->push_back(bert_->encoder->layer[static_cast<size_t>(i)]);
  }
  c.num_hidden_layers = static_cast<int64_t>(kept->size());
  bert_->encoder->layer = bert_->encoder->replace_module("layer", kept);
  config_ = c;
}
void BertForSequenceClassification::set_max_seq_length(int64_t length) {
  BertConfig c = config_;
  c.max_seq_length = length;
  c.validate("model");
  config_ = c;
}

void BertForSequenceClassification::set_tokenizer(std::shared_ptr<const text::Tokenizer> tokenizer) {
  if (tokenizer && tokenizer->size() != config_.vocab_size)
    throw BadInput("bert: the vocabulary has " + std::to_string(tokenizer->size()) + " tokens but vocab_size is " +
                   std::to_string(config_.vocab_size));
  if (tokenizer && tokenizer->pad_id() != config_.pad_token_id)
    throw BadInput("bert: [PAD] has id " + std::to_string(tokenizer->pad_id()) + " but pad_token_id is " +
                   std::to_string(config_.pad_token_id));
  tokenizer_ = std::move(tokenizer);
}

}  // namespace sparrow::models::bert
