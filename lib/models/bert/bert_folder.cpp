#include "models/bert/bert_folder.h"

#include <spdlog/spdlog.h>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "models/safetensors.h"

namespace sparrow::models::bert {

namespace {

nlohmann::json read_json(const std::filesystem::path& file) {
  try {
    return nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(file.string() + ": not valid JSON: " + e.what());
  }
}

template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback, const std::string& context) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw BadInput(context + ": " + key + " has the wrong type (found " + j.at(key).dump() + ")");
  }
}

torch::Tensor to_float_tensor(const SafeTensorView& v, const std::string& source) {
  torch::ScalarType type;
  switch (v.dtype) {
    case SafeDType::F32: type = torch::kFloat32; break;
    case SafeDType::F16: type = torch::kFloat16; break;
    case SafeDType::BF16: type = torch::kBFloat16; break;
    case SafeDType::F64: type = torch::kFloat64; break;
    default: throw BadInput(source + ": tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) + ", expected a float type");
  }
  return torch::from_blob(const_cast<char*>(v.bytes.data()), v.shape, type).to(torch::kFloat32);
}

// The file's name for a model tensor: itself, or the pre-2019 gamma/beta LayerNorm names.
const SafeTensorView* find_tensor(const SafetensorsFile& file, const std::string& name) {
  if (const auto* v = file.find(name)) return v;
  const std::string ln = "LayerNorm.";
  const auto at = name.rfind(ln);
  if (at == std::string::npos) return nullptr;
  const std::string leaf = name.substr(at + ln.size());
  const std::string old = leaf == "weight" ? "gamma" : leaf == "bias" ? "beta" : "";
  return old.empty() ? nullptr : file.find(name.substr(0, at + ln.size()) + old);
}

}  // namespace

BertConfig config_from_hf(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) throw BadInput(context + ": config must be a JSON object");
  const std::string act = field<std::string>(j, "hidden_act", "gelu", context);
  if (act != "gelu")
    throw BadInput(context + ": hidden_act '" + act + "' is not supported; Sparrow's BERT uses the exact (erf) \"gelu\"");
  const std::string pos = field<std::string>(j, "position_embedding_type", "absolute", context);
  if (pos != "absolute") throw BadInput(context + ": position_embedding_type '" + pos + "' is not supported; expected \"absolute\"");
  BertConfig c;
  c.vocab_size = field(j, "vocab_size", c.vocab_size, context);
  c.hidden_size = field(j, "hidden_size", c.hidden_size, context);
  c.num_hidden_layers = field(j, "num_hidden_layers", c.num_hidden_layers, context);
  c.num_attention_heads = field(j, "num_attention_heads", c.num_attention_heads, context);
  c.intermediate_size = field(j, "intermediate_size", c.intermediate_size, context);
  c.max_position_embeddings = field(j, "max_position_embeddings", c.max_position_embeddings, context);
  c.type_vocab_size = field(j, "type_vocab_size", c.type_vocab_size, context);
  c.pad_token_id = field(j, "pad_token_id", c.pad_token_id, context);
  c.hidden_dropout_prob = field(j, "hidden_dropout_prob", c.hidden_dropout_prob, context);
  c.attention_probs_dropout_prob = field(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, context);
  c.layer_norm_eps = field(j, "layer_norm_eps", c.layer_norm_eps, context);
  c.initializer_range = field(j, "initializer_range", c.initializer_range, context);
  const int64_t n_labels = j.contains("id2label") && j["id2label"].is_object() ? static_cast<int64_t>(j["id2label"].size()) : 2;
  c.num_labels = field(j, "num_labels", n_labels, context);
  c.max_seq_length = field(j, "max_seq_length", std::min<int64_t>(c.max_position_embeddings, 128), context);
  c.do_lower_case = field(j, "do_lower_case", c.do_lower_case, context);
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

bool is_bert_folder(const std::filesystem::path& dir) {
  const auto file = dir / "config.json";
  if (!std::filesystem::is_regular_file(file)) return false;
  const auto j = read_json(file);
  return j.is_object() && (j.value("model_type", "") == "bert" || j.value("name", "") == "bert");
}

void load_bert_weights(BertForSequenceClassification& model, const std::filesystem::path& path, bool allow_new_head) {
  const SafetensorsFile file = read_safetensors(path);
  const std::string source = path.string();
  torch::NoGradGuard no_grad;
  std::vector<std::string> fresh;
  std::set<std::string> used;
  for (auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    const SafeTensorView* v = find_tensor(file, name);
    if (!v) {
      const bool head = name.rfind("classifier.", 0) == 0 || name.rfind("bert.pooler.", 0) == 0;
      if (!(head && allow_new_head)) throw BadInput(source + ": tensor '" + name + "' is missing");
      fresh.push_back(name);
      continue;
    }
    const auto expected = p.value().sizes().vec();
    if (v->shape != expected)
      throw BadInput(source + ": tensor '" + v->name + "' has shape " + nlohmann::json(v->shape).dump() +
                     ", the config expects " + nlohmann::json(expected).dump());
    p.value().copy_(to_float_tensor(*v, source));
    used.insert(v->name);
  }
  if (!fresh.empty()) {
    std::string list;
    for (const auto& f : fresh) list += (list.empty() ? "" : ", ") + f;
    spdlog::warn("{}: no {} in the file; starting them from a fresh initialisation", source, list);
  }
  std::vector<std::string> skipped;
  for (const auto& t : file.tensors)
    if (!used.count(t.name)) skipped.push_back(t.name);
  if (!skipped.empty()) spdlog::info("{}: skipped {} tensors the classifier does not use (e.g. {})", source, skipped.size(), skipped.front());
}

std::shared_ptr<BertForSequenceClassification> load_bert_folder(const std::filesystem::path& dir, bool allow_new_head) {
  if (!std::filesystem::is_directory(dir)) throw BadInput(dir.string() + ": model folder not found");
  const auto config_file = dir / "config.json";
  const nlohmann::json j = read_json(config_file);
  BertConfig c = config_from_hf(j, config_file.string());
  // tokenizer_config.json, when present, is HF's word on case folding and length.
  const auto tok_file = dir / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(tok_file)) {
    const auto t = read_json(tok_file);
    c.do_lower_case = field(t, "do_lower_case", c.do_lower_case, tok_file.string());
    if (!j.contains("max_seq_length")) {
      const double max_len = field(t, "model_max_length", static_cast<double>(c.max_seq_length), tok_file.string());
      c.max_seq_length = std::min<int64_t>(c.max_position_embeddings, static_cast<int64_t>(std::min(max_len, 1e9)));
    }
  }
  auto model = std::make_shared<BertForSequenceClassification>(c);
  const auto labels = labels_from_hf(j, c.num_labels, config_file.string());
  if (!labels.empty()) model->labels = labels;
  load_bert_weights(*model, dir / "model.safetensors", allow_new_head);
  text::BasicTokenizerOptions basic;
  basic.do_lower_case = basic.strip_accents = c.do_lower_case;
  model->set_tokenizer(std::make_shared<text::Tokenizer>(text::Tokenizer::from_file(dir / "vocab.txt", basic)));
  return model;
}

void save_bert_folder(const std::filesystem::path& dir, BertForSequenceClassification& model,
                      const std::map<std::string, std::string>& metadata) {
  // Not save_checkpoint: it hands BERTs to this function.
  auto meta = metadata;
  meta["format"] = "pt";
  save_weights_and_config(dir, model, meta);
  const auto& c = model.bert_config();
  const nlohmann::json tok = {{"tokenizer_class", "BertTokenizer"},
                              {"do_lower_case", c.do_lower_case},
                              {"model_max_length", c.max_seq_length},
                              {"unk_token", "[UNK]"},
                              {"sep_token", "[SEP]"},
                              {"pad_token", "[PAD]"},
                              {"cls_token", "[CLS]"},
                              {"mask_token", "[MASK]"}};
  write_file_atomic(dir / "tokenizer_config.json", tok.dump(2) + "\n");
  if (model.tokenizer()) model.tokenizer()->save(dir / "vocab.txt");
}

}  // namespace sparrow::models::bert
