#pragma once
// A Llama-architecture causal language model with Hugging Face's LlamaForCausalLM module layout, so that
// named_parameters() are exactly its state-dict keys (model.embed_tokens.weight,
// model.layers.0.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight), and HF's eager math:
// RMSNorm in FP32, rotary embeddings in the rotate_half convention, causal grouped-query attention and a
// SwiGLU MLP. Trainable: every linear goes through the linear hook (linear_hook.h).
#include <map>
#include <string>
#include <vector>

#include "models/classifier.h"
#include "models/llama/llama_config.h"

namespace sparrow::models::llama {

// The keys and values of every layer for the tokens seen so far (after RoPE, before the heads are repeated
// for GQA): [B, num_key_value_heads, length, head_dim] each. Empty until the first decode().
struct KvCache {
  std::vector<torch::Tensor> keys, values;
  int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
};

namespace detail {

// x * rsqrt(mean(x^2) + eps) in FP32, back to x's dtype, times the weight (HF's LlamaRMSNorm).
struct RmsNormImpl : torch::nn::Module {
  RmsNormImpl(int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RmsNorm);

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const LlamaConfig& c);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  torch::nn::Dropout dropout{nullptr};
  int64_t heads, kv_heads, head_dim;
};
TORCH_MODULE(Attention);

// down(silu(gate(x)) * up(x)).
struct MlpImpl : torch::nn::Module {
  explicit MlpImpl(const LlamaConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

struct DecoderLayerImpl : torch::nn::Module {
  explicit DecoderLayerImpl(const LlamaConfig& c);
  // `cos`, `sin`: [T, head_dim] for the new tokens' positions; `mask_bias`: [B or 1, 1, T, S] added to the
  // scores (0 or the lowest float); `past_key`/`past_value` (undefined: no cache) are replaced by the
  // keys and values including the new tokens.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& mask_bias,
                        torch::Tensor* past_key, torch::Tensor* past_value);
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

struct LlamaModelImpl : torch::nn::Module {
  explicit LlamaModelImpl(const LlamaConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

}  // namespace detail

class LlamaForCausalLM : public Classifier {
 public:
  explicit LlamaForCausalLM(const LlamaConfig& config);

  // batch.inputs: [B, T] int64 token ids; batch.attention_mask: [B, T], 1 for tokens and 0 for padding
  // (undefined: all tokens). Returns next-token logits [B, T, vocab_size].
  torch::Tensor forward(const data::Batch& batch) override;
  // hidden_states: the embeddings' output, each layer's output but the last, then the last after the
  // final norm (HF's output_hidden_states order), num_hidden_layers + 1 of [B, T, hidden_size].
  torch::Tensor forward_with_hidden_states(const data::Batch& batch, std::vector<torch::Tensor>& hidden_states) override;
  bool has_hidden_states() const override { return true; }

  // Logits [B, T, vocab_size] for `input_ids` [B, T] following the cache's tokens (positions continue from
  // cache.length()), which are appended to the cache. The decoding step of greedy or sampled generation:
  // the prompt once, then one token at a time. Every row of the batch has the same length (no padding).
  torch::Tensor decode(const torch::Tensor& input_ids, KvCache& cache);

  // Greedy decoding through the KV cache, as transformers' generate(do_sample=False) picks tokens: the
  // prompt [B, P] once, then the argmax of each step's last logits fed back, `max_new_tokens` times.
  // Returns the new tokens [B, max_new_tokens]; it does not stop at eos (callers cut there if they want),
  // so that a fixed number of tokens can be compared with the engine's. No gradients. BadInput when the
  // prompt and the new tokens exceed max_position_embeddings.
  torch::Tensor generate_greedy(const torch::Tensor& prompt, int64_t max_new_tokens);

  // Every layer's q/k/v/o and gate/up/down weights. Embeddings, the norms and lm_head stay dense, as
  // BERT's embeddings and classifier do.
  std::vector<std::string> prunable_parameters() const override;
  // Hugging Face's config.json keys plus "name": "llama".
  nlohmann::json config() const override;
  const LlamaConfig& llama_config() const { return config_; }

  // Files of the Hugging Face folder the model came from that Sparrow does not interpret here
  // (tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json): name to
  // contents, written back as they were when the model is saved.
  std::map<std::string, std::string> folder_files;

 private:
  void init_weights();
  torch::Tensor run(const torch::Tensor& ids, const torch::Tensor& attention_mask, KvCache* cache,
                    std::vector<torch::Tensor>* hidden_states);

  LlamaConfig config_;
  detail::LlamaModel model_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // null when tied: the logits use model.embed_tokens.weight
  torch::Tensor inv_freq_;              // RoPE's 1 / theta^(2i / head_dim), not part of the state
};

}  // namespace sparrow::models::llama
