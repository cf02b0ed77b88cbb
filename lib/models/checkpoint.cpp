#include "models/checkpoint.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "models/bert/bert_folder.h"
#include "models/llama/llama_folder.h"
#include "models/model_factory.h"
#include "models/safetensors.h"

namespace sparrow::models {

namespace {

SafeDType to_safe(torch::ScalarType t, const std::string& name) {
  switch (t) {
    case torch::kFloat64: return SafeDType::F64;
    case torch::kFloat32: return SafeDType::F32;
    case torch::kFloat16: return SafeDType::F16;
    case torch::kBFloat16: return SafeDType::BF16;
    case torch::kInt64: return SafeDType::I64;
    case torch::kInt32: return SafeDType::I32;
    case torch::kInt16: return SafeDType::I16;
    case torch::kInt8: return SafeDType::I8;
    case torch::kUInt8: return SafeDType::U8;
    case torch::kBool: return SafeDType::BOOL;
    default: throw InternalError("checkpoint: tensor '" + name + "' has a dtype safetensors cannot store");
  }
}

torch::ScalarType to_torch(SafeDType t) {
  switch (t) {
    case SafeDType::F64: return torch::kFloat64;
    case SafeDType::F32: return torch::kFloat32;
    case SafeDType::F16: return torch::kFloat16;
    case SafeDType::BF16: return torch::kBFloat16;
    case SafeDType::I64: return torch::kInt64;
    case SafeDType::I32: return torch::kInt32;
    case SafeDType::I16: return torch::kInt16;
    case SafeDType::I8: return torch::kInt8;
    case SafeDType::U8: return torch::kUInt8;
    case SafeDType::BOOL: return torch::kBool;
  }
  return torch::kFloat32;
}

std::vector<std::pair<std::string, torch::Tensor>> state_of(Classifier& model) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : model.named_parameters()) state.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

}  // namespace

nlohmann::json read_json_file(const std::filesystem::path& file) {
  try {
    return nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(file.string() + ": not valid JSON: " + e.what());
  }
}

bool is_model_folder(const std::filesystem::path& dir, const std::string& model_type) {
  const auto file = dir / "config.json";
  if (!std::filesystem::is_regular_file(file)) return false;
  const auto j = read_json_file(file);
  return j.is_object() && (j.value("model_type", "") == model_type || j.value("name", "") == model_type);
}

torch::Tensor float_tensor(const SafeTensorView& v, const std::string& source) {
  switch (v.dtype) {
    case SafeDType::F64:
    case SafeDType::F32:
    case SafeDType::F16:
    case SafeDType::BF16: break;
    default: throw BadInput(source + ": tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) + ", expected a float type");
  }
  // copy=true: the result owns its memory, FP32 included (whose to() would return a view of the file's buffer).
  return torch::from_blob(const_cast<char*>(v.bytes.data()), v.shape, to_torch(v.dtype)).to(torch::kFloat32, false, /*copy=*/true);
}

void save_checkpoint(const std::filesystem::path& dir, Classifier& model,
                     const std::map<std::string, std::string>& metadata) {
  if (auto* bert = dynamic_cast<bert::BertForSequenceClassification*>(&model)) {
    bert::save_bert_folder(dir, *bert, metadata);
    return;
  }
  if (auto* llama = dynamic_cast<llama::LlamaForCausalLM*>(&model)) {
    llama::save_llama_folder(dir, *llama, metadata);
    return;
  }
  save_weights_and_config(dir, model, metadata);
}

void save_weights_and_config(const std::filesystem::path& dir, Classifier& model,
                             const std::map<std::string, std::string>& metadata) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "model.safetensors", serialize_tensors(state_of(model), metadata));
  write_file_atomic(dir / "config.json", model.config().dump(2) + "\n");
}

std::string serialize_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<SafeTensorView> views;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().cpu().contiguous();
    keep_alive.push_back(t);
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    views.push_back({name, to_safe(t.scalar_type(), name), shape,
                     std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  }
  return serialize_safetensors(views, metadata);
}

std::map<std::string, torch::Tensor> read_tensors(const std::filesystem::path& safetensors_file) {
  const SafetensorsFile file = read_safetensors(safetensors_file);
  std::map<std::string, torch::Tensor> out;
  for (const auto& v : file.tensors)
    out[v.name] = torch::from_blob(const_cast<char*>(v.bytes.data()), v.shape, to_torch(v.dtype)).clone();
  return out;
}

void load_state(Classifier& model, const std::filesystem::path& safetensors_file) {
  const SafetensorsFile file = read_safetensors(safetensors_file);
  const std::string source = safetensors_file.string();
  torch::NoGradGuard no_grad;
  size_t used = 0;
  for (auto& [name, tensor] : state_of(model)) {
    const SafeTensorView* v = file.find(name);
    if (!v) throw BadInput(source + ": tensor '" + name + "' is missing");
    const std::vector<int64_t> expected(tensor.sizes().begin(), tensor.sizes().end());
    if (v->shape != expected)
      throw BadInput(source + ": tensor '" + name + "' has shape " + nlohmann::json(v->shape).dump() +
                     ", the model expects " + nlohmann::json(expected).dump());
    auto src = torch::from_blob(const_cast<char*>(v->bytes.data()), v->shape, to_torch(v->dtype));
    tensor.copy_(src);
    ++used;
  }
  if (used != file.tensors.size()) {
    for (const auto& t : file.tensors) {
      bool known = false;
      for (auto& [name, tensor] : state_of(model)) known = known || name == t.name;
      if (!known) throw BadInput(source + ": tensor '" + t.name + "' does not belong to this model");
    }
  }
}

std::shared_ptr<Classifier> clone_model(Classifier& model) {
  auto copy = build_model(model.config(), "copy of the model");
  torch::NoGradGuard no_grad;
  auto target = state_of(*copy);
  auto source = state_of(model);
  for (size_t i = 0; i < source.size(); ++i) target[i].second.copy_(source[i].second);
  return copy;
}

std::shared_ptr<Classifier> load_checkpoint(const std::filesystem::path& dir) {
  if (bert::is_bert_folder(dir)) return bert::load_bert_folder(dir, /*allow_new_head=*/false);
  if (llama::is_llama_folder(dir)) return llama::load_llama_folder(dir);
  const auto config_file = dir / "config.json";
  const nlohmann::json config = read_json_file(config_file);
  auto model = build_model(config, config_file.string());
  load_state(*model, dir / "model.safetensors");
  return model;
}

}  // namespace sparrow::models
