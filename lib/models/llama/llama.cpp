#include "models/llama/llama.h"

#include <cmath>
#include <limits>

#include "core/errors.h"

namespace sparrow::models::llama {

namespace nn = torch::nn;

namespace detail {

namespace {

// HF's rotate_half: (x1, x2) -> (-x2, x1) over the two halves of the last dimension.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

}  // namespace

RmsNormImpl::RmsNormImpl(int64_t size, double eps_) : eps(eps_) { weight = register_parameter("weight", torch::ones({size})); }

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  const auto x32 = x.to(torch::kFloat32);
  const auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const LlamaConfig& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  const auto proj = [&](int64_t in, int64_t out) { return nn::Linear(nn::LinearOptions(in, out).bias(c.attention_bias)); };
  q_proj = register_module("q_proj", proj(c.hidden_size, heads * head_dim));
  k_proj = register_module("k_proj", proj(c.hidden_size, kv_heads * head_dim));
  v_proj = register_module("v_proj", proj(c.hidden_size, kv_heads * head_dim));
  o_proj = register_module("o_proj", proj(heads * head_dim, c.hidden_size));
  dropout = register_module("dropout", nn::Dropout(c.attention_dropout));
}

MlpImpl::MlpImpl(const LlamaConfig& c) {
  const auto proj = [&](int64_t in, int64_t out) { return nn::Linear(nn::LinearOptions(in, out).bias(c.mlp_bias)); };
  gate_proj = register_module("gate_proj", proj(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", proj(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", proj(c.intermediate_size, c.hidden_size));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return linear(down_proj, torch::silu(linear(gate_proj, x)) * linear(up_proj, x));
}

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                        const torch::Tensor& mask_bias, torch::Tensor* past_key, torch::Tensor* past_value) {
  auto& a = *self_attn;
  const int64_t B = x.size(0), T = x.size(1);
  const auto h = input_layernorm->forward(x);
  const auto split = [&](const torch::Tensor& t, int64_t n) { return t.view({B, T, n, a.head_dim}).transpose(1, 2); };
  const auto q = rope(split(linear(a.q_proj, h), a.heads), cos, sin);
  auto k = rope(split(linear(a.k_proj, h), a.kv_heads), cos, sin);
  auto v = split(linear(a.v_proj, h), a.kv_heads);
  if (past_key) {
    if (past_key->defined()) {
      k = torch::cat({*past_key, k}, 2);
      v = torch::cat({*past_value, v}, 2);
    }
    *past_key = k;
    *past_value = v;
  }
  // Grouped-query attention: query head i reads key/value head i / (heads / kv_heads) (HF's repeat_kv).
  const int64_t groups = a.heads / a.kv_heads, S = k.size(2);
  const auto repeat = [&](const torch::Tensor& t) {
    return groups == 1 ? t : t.unsqueeze(2).expand({B, a.kv_heads, groups, S, a.head_dim}).reshape({B, a.heads, S, a.head_dim});
  };
  auto scores = torch::matmul(q, repeat(k).transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  scores = scores + mask_bias;
  const auto probs = a.dropout->forward(torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type()));
  const auto context = torch::matmul(probs, repeat(v)).transpose(1, 2).reshape({B, T, a.heads * a.head_dim});
  const auto attended = x + linear(a.o_proj, context);
  return attended + mlp->forward(post_attention_layernorm->forward(attended));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c) {
  auto options = nn::EmbeddingOptions(c.vocab_size, c.hidden_size);
  if (c.pad_token_id) options.padding_idx(*c.pad_token_id);
  embed_tokens = register_module("embed_tokens", nn::Embedding(options));
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

}  // namespace detail

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& config) : config_(config) {
  config_.validate("model");
  model_ = register_module("model", detail::LlamaModel(config_));
  if (!config_.tie_word_embeddings)
    lm_head_ = register_module("lm_head", nn::Linear(nn::LinearOptions(config_.hidden_size, config_.vocab_size).bias(false)));
  // As HF computes it: theta ** (arange(0, d, 2) / d) in FP32.
  const auto exponents = torch::arange(0, config_.head_dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(config_.head_dim);
  inv_freq_ = 1.0 / torch::pow(config_.rope_theta, exponents);
  init_weights();
}

void LlamaForCausalLM::init_weights() {
  // HF's LlamaPreTrainedModel._init_weights: N(0, initializer_range) for linear and embedding weights, zero
  // biases, the padding row zero; RMSNorm weights start at one.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* l = m->as<nn::Linear>()) {
      l->weight.normal_(0.0, config_.initializer_range);
      if (l->bias.defined()) l->bias.zero_();
    } else if (auto* e = m->as<nn::Embedding>()) {
      e->weight.normal_(0.0, config_.initializer_range);
    }
  }
  if (config_.pad_token_id) model_->embed_tokens->weight[*config_.pad_token_id].zero_();
}

torch::Tensor LlamaForCausalLM::forward(const data::Batch& batch) { return run(batch.inputs, batch.attention_mask, nullptr, nullptr); }

torch::Tensor LlamaForCausalLM::forward_with_hidden_states(const data::Batch& batch, std::vector<torch::Tensor>& hidden_states) {
  hidden_states.clear();
  return run(batch.inputs, batch.attention_mask, nullptr, &hidden_states);
}

torch::Tensor LlamaForCausalLM::decode(const torch::Tensor& input_ids, KvCache& cache) {
  ActiveHookScope scope(linear_hook().get());
  return run(input_ids, {}, &cache, nullptr);
}

torch::Tensor LlamaForCausalLM::generate_greedy(const torch::Tensor& prompt, int64_t max_new_tokens) {
  if (prompt.dim() != 2 || max_new_tokens < 0 || prompt.size(1) + max_new_tokens > config_.max_position_embeddings)
    throw BadInput("llama: a prompt [batch, length] and " + std::to_string(max_new_tokens) + " new tokens must fit in max_position_embeddings " +
                   std::to_string(config_.max_position_embeddings));
  torch::NoGradGuard no_grad;
  KvCache cache;
  std::vector<torch::Tensor> tokens;
  torch::Tensor next = prompt;
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    next = decode(next, cache).select(1, -1).argmax(-1, /*keepdim=*/true);
    tokens.push_back(next);
  }
  return tokens.empty() ? torch::empty({prompt.size(0), 0}, torch::kInt64) : torch::cat(tokens, 1);
}

torch::Tensor LlamaForCausalLM::run(const torch::Tensor& ids, const torch::Tensor& attention_mask, KvCache* cache,
                                    std::vector<torch::Tensor>* hidden_states) {
  if (ids.dim() != 2 || ids.scalar_type() != torch::kInt64 || ids.size(1) == 0)
    throw BadInput("llama: inputs must be [batch, length] int64 token ids, length at least 1");
  const int64_t B = ids.size(0), T = ids.size(1), past = cache ? cache->length() : 0;
  if (past + T > config_.max_position_embeddings)
    throw BadInput("llama: " + std::to_string(past + T) + " tokens exceed max_position_embeddings " +
                   std::to_string(config_.max_position_embeddings));
  if (B > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab_size)
      throw BadInput("llama: token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary [0, " +
                     std::to_string(config_.vocab_size) + ")");
  }
  if (attention_mask.defined() && attention_mask.sizes() != ids.sizes())
    throw BadInput("llama: the attention mask must have the inputs' shape [batch, length]");

  const int64_t S = past + T;
  const auto positions = torch::arange(past, S, torch::kInt64).to(torch::kFloat32);
  const auto freqs = torch::outer(positions, inv_freq_);
  const auto angles = torch::cat({freqs, freqs}, -1);
  const auto cos = angles.cos(), sin = angles.sin();
  // Query t (at position past + t) sees keys 0 .. past + t, and of those only the ones the mask keeps.
  auto allowed = torch::arange(S, torch::kInt64).view({1, S}) <= torch::arange(past, S, torch::kInt64).view({T, 1});
  allowed = allowed.view({1, 1, T, S});
  if (attention_mask.defined()) allowed = allowed.logical_and(attention_mask.to(torch::kBool).view({B, 1, 1, S}));
  // The lowest float, not -inf, as HF does: a row with every key masked (left padding) stays finite.
  const auto mask_bias = torch::zeros(allowed.sizes(), torch::kFloat32).masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());

  if (cache && cache->keys.empty()) {
    cache->keys.resize(static_cast<size_t>(config_.num_hidden_layers));
    cache->values.resize(static_cast<size_t>(config_.num_hidden_layers));
  }
  auto hidden = model_->embed_tokens->forward(ids);
  size_t i = 0;
  for (const auto& layer : *model_->layers) {
    if (hidden_states) hidden_states->push_back(hidden);
    hidden = layer->as<detail::DecoderLayer>()->forward(hidden, cos, sin, mask_bias, cache ? &cache->keys[i] : nullptr,
                                                       cache ? &cache->values[i] : nullptr);
    ++i;
  }
  hidden = model_->norm->forward(hidden);
  if (hidden_states) hidden_states->push_back(hidden);
  return lm_head_.is_empty() ? torch::matmul(hidden, model_->embed_tokens->weight.t()) : linear(lm_head_, hidden);
}

std::vector<std::string> LlamaForCausalLM::prunable_parameters() const {
  std::vector<std::string> names;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                          "mlp.up_proj", "mlp.down_proj"})
      names.push_back(p + m + ".weight");
  }
  return names;
}

nlohmann::json LlamaForCausalLM::config() const {
  auto j = config_to_hf(config_);
  j["name"] = "llama";
  return j;
}

}  // namespace sparrow::models::llama
