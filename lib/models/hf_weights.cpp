#include "models/hf_weights.h"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "core/errors.h"
#include "core/files.h"

namespace sparrow::models {

namespace {

void add_file(HfWeights& w, SafetensorsFile file, const std::string& source) {
  w.files.push_back(std::move(file));
  for (const auto& t : w.files.back().tensors) {
    if (const auto it = w.source.find(t.name); it != w.source.end())
      throw BadInput(source + ": tensor '" + t.name + "' is also in " + it->second);
    w.tensors[t.name] = &t;
    w.source[t.name] = source;
  }
}

}  // namespace

HfWeights read_hf_weights(const std::filesystem::path& dir) {
  HfWeights w;
  const auto single = dir / kSafetensorsFile;
  const auto index_file = dir / kSafetensorsIndexFile;
  if (std::filesystem::exists(single)) {
    w.files.reserve(1);  // the views in `tensors` must not move
    add_file(w, read_safetensors(single), single.string());
    return w;
  }
  if (!std::filesystem::exists(index_file))
    throw BadInput(dir.string() + ": no " + kSafetensorsFile + " and no " + kSafetensorsIndexFile + " in the model folder");
  const std::string where = index_file.string();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_file(index_file));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(where + ": not valid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object())
    throw BadInput(where + ": expected an object with a \"weight_map\" object {tensor: shard file}");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [tensor, shard] : index.at("weight_map").items()) {
    if (!shard.is_string()) throw BadInput(where + ": weight_map entry '" + tensor + "' must name a shard file");
    const std::string name = shard.get<std::string>();
    // A shard is a file of this folder: no path may lead elsewhere.
    if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." || name == "..")
      throw BadInput(where + ": weight_map entry '" + tensor + "' names '" + name + "', expected a file name in the folder");
    by_shard[name].push_back(tensor);
  }
  if (by_shard.empty()) throw BadInput(where + ": weight_map names no tensors");
  w.files.reserve(by_shard.size());
  for (const auto& [name, tensors] : by_shard) {
    const auto shard = dir / name;
    if (!std::filesystem::exists(shard))
      throw BadInput(shard.string() + ": shard named by " + kSafetensorsIndexFile + " is missing");
    add_file(w, read_safetensors(shard), shard.string());
    for (const auto& t : tensors)
      if (w.source.count(t) == 0 || w.source.at(t) != shard.string())
        throw BadInput(shard.string() + ": has no tensor '" + t + "', which " + kSafetensorsIndexFile + " places there");
  }
  return w;
}

void write_hf_weights(const std::filesystem::path& dir, const std::vector<SafeTensorView>& tensors,
                      const std::map<std::string, std::string>& metadata, uint64_t max_shard_bytes) {
  std::vector<std::vector<SafeTensorView>> shards(1);
  uint64_t total = 0, current = 0;
  for (const auto& t : tensors) {
    const uint64_t bytes = t.bytes.size();
    if (!shards.back().empty() && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(t);
    current += bytes;
    total += bytes;
  }
  std::filesystem::create_directories(dir);
  std::error_code ignored;
  if (shards.size() == 1) {
    write_file_atomic(dir / kSafetensorsFile, serialize_safetensors(shards.front(), metadata));
    std::filesystem::remove(dir / kSafetensorsIndexFile, ignored);
    return;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_file_atomic(dir / name, serialize_safetensors(shards[i], metadata));
    for (const auto& t : shards[i]) weight_map[t.name] = name;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  // The index last: a folder whose index exists has all its shards.
  write_file_atomic(dir / kSafetensorsIndexFile, index.dump(2) + "\n");
  std::filesystem::remove(dir / kSafetensorsFile, ignored);
}

}  // namespace sparrow::models
