#pragma once
// A Llama model folder in Hugging Face's layout, as save_pretrained writes it: config.json (LlamaConfig
// keys), model.safetensors or model.safetensors.index.json with its shards (HF parameter names,
// {"format": "pt"} metadata), generation_config.json, and the tokenizer files, which are carried through
// unchanged. Sparrow's own Llama checkpoints are such folders.
#include <filesystem>
#include <memory>

#include "models/hf_weights.h"
#include "models/llama/llama.h"

namespace sparrow::models::llama {

// True when `dir` holds a config.json describing a Llama (model_type "llama" or Sparrow's name "llama").
bool is_llama_folder(const std::filesystem::path& dir);

// Loads the config, the weights (F32, F16 or BF16, computed in FP32) and the files to carry through. A tied
// model's file has no lm_head.weight; an untied one without it, a missing, mis-shaped or non-float tensor
// is BadInput naming the file and the tensor. Tensors the model does not have (an old checkpoint's
// rotary_emb.inv_freq) are skipped and logged.
std::shared_ptr<LlamaForCausalLM> load_llama_folder(const std::filesystem::path& dir);

// Writes the folder in FP32 (torch_dtype "float32"), sharded above `max_shard_bytes`; the tied lm_head
// is left out of the weights, as transformers leaves it out.
void save_llama_folder(const std::filesystem::path& dir, LlamaForCausalLM& model,
                       const std::map<std::string, std::string>& metadata = {},
                       uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace sparrow::models::llama
