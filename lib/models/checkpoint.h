#pragma once
// A checkpoint folder: config.json (the model: section that rebuilds the
// architecture) and model.safetensors (every parameter and buffer by name).
// BERT and Llama checkpoints are Hugging Face model folders (bert/bert_folder.h,
// llama/llama_folder.h); both functions below handle them too.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/classifier.h"
#include "models/safetensors.h"

namespace sparrow::models {

void save_checkpoint(const std::filesystem::path& dir, Classifier& model,
                     const std::map<std::string, std::string>& metadata = {});

// The part every checkpoint shares: model.safetensors and config.json.
void save_weights_and_config(const std::filesystem::path& dir, Classifier& model,
                             const std::map<std::string, std::string>& metadata);

// Named tensors as the bytes of a safetensors file, and a file's tensors back (each its own copy).
std::string serialize_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
std::map<std::string, torch::Tensor> read_tensors(const std::filesystem::path& safetensors_file);

// Rebuilds the model from config.json and loads every tensor; a missing,
// extra or mis-shaped tensor is BadInput naming it.
std::shared_ptr<Classifier> load_checkpoint(const std::filesystem::path& dir);

// A JSON file a model folder holds (config.json, ...): BadInput naming it when it is missing or not JSON.
nlohmann::json read_json_file(const std::filesystem::path& file);

// Whether dir/config.json names this architecture: Hugging Face's "model_type" or a Sparrow checkpoint's "name".
bool is_model_folder(const std::filesystem::path& dir, const std::string& model_type);

// A floating-point safetensors tensor (F64, F32, F16 or BF16) as an FP32 tensor of its own; any other dtype
// is BadInput naming `source` and the tensor.
torch::Tensor float_tensor(const SafeTensorView& view, const std::string& source);

// A new model of the same architecture with the same weights (no hook).
std::shared_ptr<Classifier> clone_model(Classifier& model);

// Copies the named tensors of `file` into the model's parameters and buffers.
void load_state(Classifier& model, const std::filesystem::path& safetensors_file);

}  // namespace sparrow::models
