#pragma once
// A Hugging Face model folder's weights as transformers writes them: one model.safetensors, or, above a
// size threshold (save_pretrained's max_shard_size), shards model-0000i-of-0000n.safetensors named by
// model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {tensor: shard}}).
// Model-independent and without LibTorch; the folders of each model (llama/llama_folder.h) use it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "models/safetensors.h"

namespace sparrow::models {

inline constexpr const char* kSafetensorsFile = "model.safetensors";
inline constexpr const char* kSafetensorsIndexFile = "model.safetensors.index.json";
// transformers' default max_shard_size, "5GB" (decimal).
inline constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;

struct HfWeights {
  std::vector<SafetensorsFile> files;  // the views below point into these
  // Every tensor by name, and the file it came from (for errors).
  std::map<std::string, const SafeTensorView*> tensors;
  std::map<std::string, std::string> source;
};

// Reads model.safetensors, or else the index and every shard it names. Everything is checked: a missing
// or corrupt shard, a shard name that leaves the folder, a tensor the index places in a shard that lacks
// it, a tensor in two files: BadInput naming the file (and the tensor).
HfWeights read_hf_weights(const std::filesystem::path& dir);

// Writes `tensors` (in this order) as model.safetensors when their bytes fit in `max_shard_bytes`, else as
// shards and the index; tensors go into shards in order, a new shard starting when the next tensor would
// overflow the current one (a tensor larger than the limit gets a shard of its own). Every file is written
// atomically, and the other layout's index or single file, if present, is removed so it cannot be read instead.
void write_hf_weights(const std::filesystem::path& dir, const std::vector<SafeTensorView>& tensors,
                      const std::map<std::string, std::string>& metadata, uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace sparrow::models
