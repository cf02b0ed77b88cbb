#include "models/bert/bert_folder.h"

#include <spdlog/spdlog.h>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "models/safetensors.h"

namespace sparrow::models::bert {

namespace {

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

bool is_bert_folder(const std::filesystem::path& dir) { return is_model_folder(dir, "bert"); }

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
    p.value().copy_(float_tensor(*v, source));
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
  const nlohmann::json j = read_json_file(config_file);
  BertConfig c = config_from_hf(j, config_file.string());
  const auto tok_file = dir / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(tok_file))
    apply_hf_tokenizer_config(read_json_file(tok_file), j.contains("max_seq_length"), c, tok_file.string());
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
