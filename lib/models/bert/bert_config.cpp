#include "models/bert/bert_config.h"

#include <algorithm>
#include <cstdint>

#include "core/errors.h"
#include "models/config_field.h"
#include "models/model_limits.h"

namespace sparrow::models::bert {

void BertConfig::validate(const std::string& context) const {
  // Sizes beyond a model that fits in memory would have the constructor allocate (or loop) for ever.
  for (const auto& [name, v] : {std::pair{"vocab_size", vocab_size}, std::pair{"hidden_size", hidden_size},
                                std::pair{"num_attention_heads", num_attention_heads}, std::pair{"intermediate_size", intermediate_size},
                                std::pair{"max_position_embeddings", max_position_embeddings},
                                std::pair{"type_vocab_size", type_vocab_size}, std::pair{"num_labels", num_labels}})
    check_model_size(context + ": " + name, v);
  check_model_range(context + ": num_hidden_layers", num_hidden_layers, 1, kMaxModelLayers);
  if (!intermediate_sizes.empty()) {
    if (static_cast<int64_t>(intermediate_sizes.size()) != num_hidden_layers)
      throw BadInput(context + ": intermediate_sizes has " + std::to_string(intermediate_sizes.size()) +
                     " entries for " + std::to_string(num_hidden_layers) + " layers");
    for (const auto size : intermediate_sizes) check_model_size(context + ": intermediate_sizes", size);
  }
  const double h = static_cast<double>(hidden_size);
  double parameters = h * static_cast<double>(vocab_size + max_position_embeddings + type_vocab_size);
  for (int64_t layer = 0; layer < num_hidden_layers; ++layer)
    parameters += h * (4.0 * h + 2.0 * static_cast<double>(intermediate_size_of(layer)));
  check_model_parameters(context, parameters);
  if (hidden_size % num_attention_heads != 0)
    throw BadInput(context + ": hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
                   std::to_string(num_attention_heads));
  if (max_seq_length < 2 || max_seq_length > max_position_embeddings)
    throw BadInput(context + ": max_seq_length " + std::to_string(max_seq_length) + " must be in [2, max_position_embeddings = " +
                   std::to_string(max_position_embeddings) + "]");
  check_model_range(context + ": pad_token_id", pad_token_id, 0, vocab_size - 1);
  check_probability(context + ": hidden_dropout_prob", hidden_dropout_prob);
  check_probability(context + ": attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (!(layer_norm_eps > 0 && layer_norm_eps <= 1))
    throw BadInput(context + ": layer_norm_eps must be in (0, 1], got " + fmt::format("{:g}", layer_norm_eps));
  if (!(initializer_range >= 0 && initializer_range <= 1))
    throw BadInput(context + ": initializer_range must be in [0, 1], got " + fmt::format("{:g}", initializer_range));
  for (const auto& [layer, heads] : pruned_heads) {
    const std::string where = context + ": pruned_heads of layer " + std::to_string(layer);
    if (layer < 0 || layer >= num_hidden_layers)
      throw BadInput(context + ": pruned_heads names layer " + std::to_string(layer) + " of " + std::to_string(num_hidden_layers));
    // Before the heads are looked at, so that a long list is refused at once.
    if (static_cast<int64_t>(heads.size()) >= num_attention_heads) throw BadInput(where + ": every head is pruned");
    for (const auto head : heads)
      if (head < 0 || head >= num_attention_heads)
        throw BadInput(where + ": head " + std::to_string(head) + " is outside [0, " + std::to_string(num_attention_heads) + ")");
    std::vector<int64_t> sorted = heads;
    std::sort(sorted.begin(), sorted.end());
    if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
      throw BadInput(where + ": head " + std::to_string(*twice) + " is listed twice");
  }
}

int64_t BertConfig::heads_in_layer(int64_t layer) const {
  const auto it = pruned_heads.find(layer);
  return num_attention_heads - (it == pruned_heads.end() ? 0 : static_cast<int64_t>(it->second.size()));
}

int64_t BertConfig::intermediate_size_of(int64_t layer) const {
  return intermediate_sizes.empty() ? intermediate_size : intermediate_sizes[static_cast<size_t>(layer)];
}

void read_pruning_fields(const nlohmann::json& pruned_heads, const nlohmann::json& intermediate_sizes, BertConfig& c,
                         const std::string& context) {
  if (!pruned_heads.is_null()) {
    if (!pruned_heads.is_object()) throw BadInput(context + ": pruned_heads must be an object {\"layer\": [head, ...]}");
    for (const auto& [key, heads] : pruned_heads.items()) {
      int64_t layer = -1;
      try {
        size_t used = 0;
        layer = std::stoll(key, &used);
        if (used != key.size()) layer = -1;
      } catch (const std::exception&) {
      }
      if (layer < 0) throw BadInput(context + ": pruned_heads key '" + key + "' is not a layer index");
      if (!heads.is_array()) throw BadInput(context + ": pruned_heads of layer " + key + " must be a list of head indices");
      std::vector<int64_t> list;
      for (const auto& h : heads) list.push_back(read_field<int64_t>(h, context + ": pruned_heads of layer " + key));
      if (!list.empty()) c.pruned_heads[layer] = list;
    }
  }
  if (!intermediate_sizes.is_null()) {
    if (!intermediate_sizes.is_array()) throw BadInput(context + ": intermediate_sizes must be a list of integers");
    c.intermediate_sizes.clear();
    for (const auto& v : intermediate_sizes) c.intermediate_sizes.push_back(read_field<int64_t>(v, context + ": intermediate_sizes"));
  }
}

BertConfig config_from_hf(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) throw BadInput(context + ": config must be a JSON object");
  const std::string act = read_field_or<std::string>(j, "hidden_act", "gelu", context);
  if (act != "gelu")
    throw BadInput(context + ": hidden_act '" + act + "' is not supported; Sparrow's BERT uses the exact (erf) \"gelu\"");
  const std::string pos = read_field_or<std::string>(j, "position_embedding_type", "absolute", context);
  if (pos != "absolute") throw BadInput(context + ": position_embedding_type '" + pos + "' is not supported; expected \"absolute\"");
  BertConfig c;
  c.vocab_size = read_field_or(j, "vocab_size", c.vocab_size, context);
  c.hidden_size = read_field_or(j, "hidden_size", c.hidden_size, context);
  c.num_hidden_layers = read_field_or(j, "num_hidden_layers", c.num_hidden_layers, context);
  c.num_attention_heads = read_field_or(j, "num_attention_heads", c.num_attention_heads, context);
  c.intermediate_size = read_field_or(j, "intermediate_size", c.intermediate_size, context);
  c.max_position_embeddings = read_field_or(j, "max_position_embeddings", c.max_position_embeddings, context);
  c.type_vocab_size = read_field_or(j, "type_vocab_size", c.type_vocab_size, context);
  c.pad_token_id = read_field_or(j, "pad_token_id", c.pad_token_id, context);
  c.hidden_dropout_prob = read_field_or(j, "hidden_dropout_prob", c.hidden_dropout_prob, context);
  c.attention_probs_dropout_prob = read_field_or(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, context);
  c.layer_norm_eps = read_field_or(j, "layer_norm_eps", c.layer_norm_eps, context);
  c.initializer_range = read_field_or(j, "initializer_range", c.initializer_range, context);
  const int64_t n_labels = j.contains("id2label") && j["id2label"].is_object() ? static_cast<int64_t>(j["id2label"].size()) : 2;
  c.num_labels = read_field_or(j, "num_labels", n_labels, context);
  c.max_seq_length = read_field_or(j, "max_seq_length", std::min<int64_t>(c.max_position_embeddings, 128), context);
  c.do_lower_case = read_field_or(j, "do_lower_case", c.do_lower_case, context);
  read_pruning_fields(j.value("pruned_heads", nlohmann::json()), j.value("intermediate_sizes", nlohmann::json()), c, context);
  c.validate(context);
  return c;
}

std::vector<std::string> labels_from_hf(const nlohmann::json& j, int64_t num_labels, const std::string& context) {
  std::vector<std::string> labels;
  if (!j.contains("id2label")) return labels;
  const auto& m = j["id2label"];
  if (!m.is_object()) throw BadInput(context + ": id2label must be an object {\"0\": name, ...}");
  for (int64_t i = 0; i < num_labels; ++i) {
    const auto key = std::to_string(i);
    if (!m.contains(key) || !m[key].is_string())
      throw BadInput(context + ": id2label has no name for label " + key + " of " + std::to_string(num_labels));
    labels.push_back(m[key].get<std::string>());
  }
  return labels;
}

void apply_hf_tokenizer_config(const nlohmann::json& t, bool config_sets_length, BertConfig& c, const std::string& context) {
  c.do_lower_case = read_field_or(t, "do_lower_case", c.do_lower_case, context);
  if (!config_sets_length) {
    const double max_len = read_field_or(t, "model_max_length", static_cast<double>(c.max_seq_length), context);
    c.max_seq_length = std::min<int64_t>(c.max_position_embeddings, static_cast<int64_t>(std::clamp(max_len, 0.0, 1e9)));
  }
}

}  // namespace sparrow::models::bert
