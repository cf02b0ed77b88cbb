#pragma once
// The Llama decoder's configuration under Hugging Face's LlamaConfig names, read from and written to
// config.json with no LibTorch, so that the model (llama.h), the folder reader (llama_folder.h) and the
// recipe checker (model_config.h) share one set of rules.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::models::llama {

// Every field HF's LlamaConfig writes. Sizes default small (a recipe that names few fields builds a model
// that trains on 2 cores); every other default is HF's.
struct LlamaConfig {
  int64_t vocab_size = 8000;
  int64_t hidden_size = 256;
  int64_t intermediate_size = 688;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 4;  // HF: null means num_attention_heads
  int64_t head_dim = 64;            // HF: null means hidden_size / num_attention_heads
  int64_t max_position_embeddings = 512;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool attention_bias = false;
  bool mlp_bias = false;
  double attention_dropout = 0.0;
  bool tie_word_embeddings = false;
  std::optional<int64_t> bos_token_id = 1;
  std::vector<int64_t> eos_token_id = {2};  // HF writes an integer, or a list (Llama 3)
  std::optional<int64_t> pad_token_id;
  double initializer_range = 0.02;
  // Bookkeeping HF writes that does not change the network, kept so that a folder saves as it came.
  std::string torch_dtype = "float32";
  int64_t pretraining_tp = 1;
  bool use_cache = true;
  std::string transformers_version;  // empty: not written

  // Throws BadInput (prefixed by `context`) on sizes out of range or an inconsistent configuration.
  void validate(const std::string& context) const;
  double parameters() const;
};

// Reads a config.json object. hidden_act must be "silu", rope_scaling null, rope_parameters (transformers 5)
// null or of rope_type "default", and model_type (when present) "llama"; anything else is BadInput naming
// the field. Fields that do not exist in LlamaConfig are ignored,
// as transformers ignores them.
LlamaConfig config_from_hf(const nlohmann::json& config, const std::string& context);

// The fields config_from_hf reads; a recipe's model: section may hold these (plus "name" and "from") only.
const std::vector<std::string>& hf_config_keys();

// config.json as transformers writes it for LlamaForCausalLM (every key, sorted when dumped).
nlohmann::json config_to_hf(const LlamaConfig& config);

// generation_config.json as transformers derives it from the model's config.
nlohmann::json generation_config_to_hf(const LlamaConfig& config);

}  // namespace sparrow::models::llama
