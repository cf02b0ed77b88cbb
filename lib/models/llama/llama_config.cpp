#include "models/llama/llama_config.h"

#include <spdlog/fmt/fmt.h>

#include "core/errors.h"
#include "models/config_field.h"
#include "models/model_limits.h"

namespace sparrow::models::llama {

namespace {

std::optional<int64_t> optional_id(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback,
                                   const std::string& context) {
  if (!j.contains(key)) return fallback;
  if (j.at(key).is_null()) return std::nullopt;
  return read_field<int64_t>(j.at(key), context + ": " + key);
}

void check_token_id(const std::string& what, int64_t id, int64_t vocab_size) { check_model_range(what, id, 0, vocab_size - 1); }

}  // namespace

const std::vector<std::string>& hf_config_keys() {
  static const std::vector<std::string> keys = {
      "architectures", "attention_bias", "attention_dropout", "bos_token_id", "dtype", "eos_token_id", "head_dim",
      "hidden_act", "hidden_size", "initializer_range", "intermediate_size", "max_position_embeddings", "mlp_bias",
      "model_type", "num_attention_heads", "num_hidden_layers", "num_key_value_heads", "pad_token_id", "pretraining_tp",
      "rms_norm_eps", "rope_parameters", "rope_scaling", "rope_theta", "tie_word_embeddings", "torch_dtype", "transformers_version",
      "use_cache", "vocab_size"};
  return keys;
}

double LlamaConfig::parameters() const {
  const double h = static_cast<double>(hidden_size), q = static_cast<double>(num_attention_heads * head_dim),
               kv = static_cast<double>(num_key_value_heads * head_dim), ffn = static_cast<double>(intermediate_size);
  const double layer = 2.0 * h * q + 2.0 * h * kv + 3.0 * h * ffn + 2.0 * h;
  return static_cast<double>(vocab_size) * h * (tie_word_embeddings ? 1.0 : 2.0) + static_cast<double>(num_hidden_layers) * layer + h;
}

void LlamaConfig::validate(const std::string& context) const {
  for (const auto& [name, v] :
       {std::pair{"vocab_size", vocab_size}, std::pair{"hidden_size", hidden_size}, std::pair{"intermediate_size", intermediate_size},
        std::pair{"num_attention_heads", num_attention_heads}, std::pair{"num_key_value_heads", num_key_value_heads},
        std::pair{"head_dim", head_dim}, std::pair{"max_position_embeddings", max_position_embeddings}})
    check_model_size(context + ": " + name, v);
  check_model_range(context + ": num_hidden_layers", num_hidden_layers, 1, kMaxModelLayers);
  check_model_parameters(context, parameters());
  if (num_attention_heads % num_key_value_heads != 0)
    throw BadInput(context + ": num_attention_heads " + std::to_string(num_attention_heads) +
                   " is not a multiple of num_key_value_heads " + std::to_string(num_key_value_heads));
  // RoPE rotates pairs of a head's features: the first half against the second.
  if (head_dim % 2 != 0) throw BadInput(context + ": head_dim must be even for rotary embeddings, got " + std::to_string(head_dim));
  if (!(rms_norm_eps > 0 && rms_norm_eps <= 1))
    throw BadInput(context + ": rms_norm_eps must be in (0, 1], got " + fmt::format("{:g}", rms_norm_eps));
  if (!(rope_theta > 0 && rope_theta <= 1e12))
    throw BadInput(context + ": rope_theta must be in (0, 1e12], got " + fmt::format("{:g}", rope_theta));
  check_probability(context + ": attention_dropout", attention_dropout);
  if (!(initializer_range >= 0 && initializer_range <= 1))
    throw BadInput(context + ": initializer_range must be in [0, 1], got " + fmt::format("{:g}", initializer_range));
  if (bos_token_id) check_token_id(context + ": bos_token_id", *bos_token_id, vocab_size);
  for (const auto id : eos_token_id) check_token_id(context + ": eos_token_id", id, vocab_size);
  if (pad_token_id) check_token_id(context + ": pad_token_id", *pad_token_id, vocab_size);
  if (pretraining_tp < 1) throw BadInput(context + ": pretraining_tp must be at least 1, got " + std::to_string(pretraining_tp));
  if (torch_dtype != "float32" && torch_dtype != "float16" && torch_dtype != "bfloat16")
    throw BadInput(context + ": torch_dtype must be \"float32\", \"float16\" or \"bfloat16\", got \"" + torch_dtype + "\"");
}

LlamaConfig config_from_hf(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) throw BadInput(context + ": config must be a JSON object, found " + shown(j));
  const std::string model_type = read_field_or<std::string>(j, "model_type", "llama", context);
  if (model_type != "llama") throw BadInput(context + ": model_type is \"" + model_type + "\", expected \"llama\"");
  const std::string act = read_field_or<std::string>(j, "hidden_act", "silu", context);
  if (act != "silu") throw BadInput(context + ": hidden_act \"" + act + "\" is not supported; Sparrow's Llama uses \"silu\" (SwiGLU)");
  if (j.contains("rope_scaling") && !j.at("rope_scaling").is_null())
    throw BadInput(context + ": rope_scaling " + shown(j.at("rope_scaling")) +
                   " is not supported; Sparrow's Llama supports only null (plain rotary embeddings)");
  if (j.contains("architectures")) {
    const auto& a = j.at("architectures");
    if (!a.is_null() && !a.is_array()) throw BadInput(context + ": architectures must be a list of class names, found " + shown(a));
    if (a.is_array())
      for (const auto& name : a) read_field<std::string>(name, context + ": architectures");
  }
  LlamaConfig c;
  c.vocab_size = read_field_or(j, "vocab_size", c.vocab_size, context);
  c.hidden_size = read_field_or(j, "hidden_size", c.hidden_size, context);
  c.intermediate_size = read_field_or(j, "intermediate_size", c.intermediate_size, context);
  c.num_hidden_layers = read_field_or(j, "num_hidden_layers", c.num_hidden_layers, context);
  c.num_attention_heads = read_field_or(j, "num_attention_heads", c.num_attention_heads, context);
  c.num_key_value_heads = read_field_or(j, "num_key_value_heads", c.num_attention_heads, context);
  // Checked before the division below.
  check_model_size(context + ": num_attention_heads", c.num_attention_heads);
  c.head_dim = read_field_or(j, "head_dim", c.hidden_size / c.num_attention_heads, context);
  c.max_position_embeddings = read_field_or(j, "max_position_embeddings", c.max_position_embeddings, context);
  c.rms_norm_eps = read_field_or(j, "rms_norm_eps", c.rms_norm_eps, context);
  c.rope_theta = read_field_or(j, "rope_theta", c.rope_theta, context);
  // transformers 5 writes the rotary settings as rope_parameters {"rope_type", "rope_theta", ...}.
  if (j.contains("rope_parameters") && !j.at("rope_parameters").is_null()) {
    const auto& rope = j.at("rope_parameters");
    const std::string where = context + ": rope_parameters";
    if (!rope.is_object()) throw BadInput(where + " must be an object, found " + shown(rope));
    for (const auto& [key, value] : rope.items())
      if (key != "rope_type" && key != "rope_theta")
        throw BadInput(where + " " + shown(rope) + " is not supported; Sparrow's Llama supports only {\"rope_type\": \"default\", \"rope_theta\": ...}");
    const std::string type = read_field_or<std::string>(rope, "rope_type", "default", where);
    if (type != "default") throw BadInput(where + ": rope_type \"" + type + "\" is not supported; expected \"default\"");
    c.rope_theta = read_field_or(rope, "rope_theta", c.rope_theta, where);
  }
  c.attention_bias = read_field_or(j, "attention_bias", c.attention_bias, context);
  c.mlp_bias = read_field_or(j, "mlp_bias", c.mlp_bias, context);
  c.attention_dropout = read_field_or(j, "attention_dropout", c.attention_dropout, context);
  c.tie_word_embeddings = read_field_or(j, "tie_word_embeddings", c.tie_word_embeddings, context);
  c.bos_token_id = optional_id(j, "bos_token_id", c.bos_token_id, context);
  c.pad_token_id = optional_id(j, "pad_token_id", c.pad_token_id, context);
  if (j.contains("eos_token_id")) {
    const auto& e = j.at("eos_token_id");
    c.eos_token_id.clear();
    if (e.is_array()) {
      for (const auto& id : e) c.eos_token_id.push_back(read_field<int64_t>(id, context + ": eos_token_id"));
    } else if (!e.is_null()) {
      c.eos_token_id.push_back(read_field<int64_t>(e, context + ": eos_token_id"));
    }
  }
  c.initializer_range = read_field_or(j, "initializer_range", c.initializer_range, context);
  // transformers 4.56 renamed torch_dtype to dtype.
  c.torch_dtype = read_field_or(j, "torch_dtype", read_field_or(j, "dtype", c.torch_dtype, context), context);
  c.pretraining_tp = read_field_or(j, "pretraining_tp", c.pretraining_tp, context);
  c.use_cache = read_field_or(j, "use_cache", c.use_cache, context);
  c.transformers_version = read_field_or(j, "transformers_version", c.transformers_version, context);
  c.validate(context);
  return c;
}

nlohmann::json config_to_hf(const LlamaConfig& c) {
  const auto id = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"attention_bias", c.attention_bias},
                      {"attention_dropout", c.attention_dropout},
                      {"bos_token_id", id(c.bos_token_id)},
                      {"head_dim", c.head_dim},
                      {"hidden_act", "silu"},
                      {"hidden_size", c.hidden_size},
                      {"initializer_range", c.initializer_range},
                      {"intermediate_size", c.intermediate_size},
                      {"max_position_embeddings", c.max_position_embeddings},
                      {"mlp_bias", c.mlp_bias},
                      {"model_type", "llama"},
                      {"num_attention_heads", c.num_attention_heads},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_key_value_heads", c.num_key_value_heads},
                      {"pretraining_tp", c.pretraining_tp},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"rope_scaling", nullptr},
                      {"rope_theta", c.rope_theta},
                      {"tie_word_embeddings", c.tie_word_embeddings},
                      {"torch_dtype", c.torch_dtype},
                      {"use_cache", c.use_cache},
                      {"vocab_size", c.vocab_size}};
  j["eos_token_id"] = c.eos_token_id.size() == 1 ? nlohmann::json(c.eos_token_id[0]) : nlohmann::json(c.eos_token_id);
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (!c.transformers_version.empty()) j["transformers_version"] = c.transformers_version;
  return j;
}

nlohmann::json generation_config_to_hf(const LlamaConfig& c) {
  // GenerationConfig.from_model_config keeps the special token ids and marks where they came from.
  nlohmann::json j = {{"_from_model_config", true}};
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (!c.eos_token_id.empty())
    j["eos_token_id"] = c.eos_token_id.size() == 1 ? nlohmann::json(c.eos_token_id[0]) : nlohmann::json(c.eos_token_id);
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (!c.transformers_version.empty()) j["transformers_version"] = c.transformers_version;
  return j;
}

}  // namespace sparrow::models::llama
