#include "models/llama/llama_folder.h"

#include <spdlog/spdlog.h>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"

namespace sparrow::models::llama {

namespace {

// Folder files Sparrow keeps as they are: the tokenizer's, and the generation settings.
constexpr const char* kCarriedFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                         "generation_config.json"};

}  // namespace

bool is_llama_folder(const std::filesystem::path& dir) { return is_model_folder(dir, "llama"); }

std::shared_ptr<LlamaForCausalLM> load_llama_folder(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) throw BadInput(dir.string() + ": model folder not found");
  const auto config_file = dir / "config.json";
  const auto model = std::make_shared<LlamaForCausalLM>(config_from_hf(read_json_file(config_file), config_file.string()));
  const HfWeights weights = read_hf_weights(dir);
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& p : model->named_parameters()) {
    const std::string& name = p.key();
    const auto it = weights.tensors.find(name);
    if (it == weights.tensors.end())
      throw BadInput(dir.string() + ": tensor '" + name + "' is in none of the folder's safetensors files");
    const SafeTensorView& v = *it->second;
    const std::string& source = weights.source.at(name);
    const auto expected = p.value().sizes().vec();
    if (v.shape != expected)
      throw BadInput(source + ": tensor '" + name + "' has shape " + nlohmann::json(v.shape).dump() + ", the config expects " +
                     nlohmann::json(expected).dump());
    p.value().copy_(float_tensor(v, source));
    used.insert(name);
  }
  std::vector<std::string> skipped;
  for (const auto& [name, view] : weights.tensors)
    if (!used.count(name)) skipped.push_back(name);
  if (!skipped.empty())
    spdlog::info("{}: skipped {} tensors the model does not use (e.g. {})", dir.string(), skipped.size(), skipped.front());
  for (const char* name : kCarriedFiles)
    if (std::filesystem::exists(dir / name)) model->folder_files[name] = read_file(dir / name);
  model->eval();
  return model;
}

void save_llama_folder(const std::filesystem::path& dir, LlamaForCausalLM& model, const std::map<std::string, std::string>& metadata,
                       uint64_t max_shard_bytes) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<SafeTensorView> views;
  for (const auto& p : model.named_parameters()) {
    auto t = p.value().detach().to(torch::kFloat32).contiguous();
    keep_alive.push_back(t);
    views.push_back({p.key(), SafeDType::F32, t.sizes().vec(), std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  }
  auto meta = metadata;
  meta["format"] = "pt";  // transformers refuses safetensors files without it
  write_hf_weights(dir, views, meta, max_shard_bytes);
  LlamaConfig c = model.llama_config();
  c.torch_dtype = "float32";
  auto config = config_to_hf(c);
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  auto files = model.folder_files;
  if (!files.count("generation_config.json")) files["generation_config.json"] = generation_config_to_hf(c).dump(2) + "\n";
  for (const auto& [name, content] : files) write_file_atomic(dir / name, content);
}

}  // namespace sparrow::models::llama
