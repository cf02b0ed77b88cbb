// Reads a .sparrow file: maps it (or takes a memory buffer), checks everything docs/format.md requires
// before returning, then hands out views into the mapped bytes without copying. Any violation is a
// FormatError (BadInput, exit code 2) naming the file and the tensor or field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/format.h"
#include "format/weights.h"

namespace sparrow::format {

class File {
 public:
  // Maps the file read-only; the mapping lives as long as the File (and its copies).
  static File open(const std::filesystem::path& path);
  // Parses bytes in memory (copied once into 64-byte-aligned storage, so typed views are aligned).
  static File parse(std::string_view bytes, const std::string& source = "<memory>");

  const std::string& source() const { return source_; }
  std::uint64_t size() const { return size_; }
  std::uint32_t version() const { return version_; }
  const nlohmann::json& graph() const { return graph_; }
  // graph["metadata"] (an empty object when absent).
  const nlohmann::json& metadata() const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  // The tensor's bytes inside the mapping (64-byte aligned).
  const std::uint8_t* data(const TensorInfo& t) const { return base_ + data_offset_ + t.offset; }
  template <class T>
  const T* data_as(const TensorInfo& t) const {
    return reinterpret_cast<const T*>(data(t));
  }
  // The weights of a linear or conv2d op of graph()["ops"], already validated when the file was read.
  WeightsView weights(const nlohmann::json& op) const;

 private:
  File() = default;
  void read();
  void read_table(std::string_view table, std::uint64_t count, std::uint64_t data_size);
  void read_graph(std::string_view json);

  std::shared_ptr<const void> storage_;
  const std::uint8_t* base_ = nullptr;
  std::uint64_t size_ = 0;
  std::string source_;
  std::uint32_t version_ = 0;
  std::uint64_t data_offset_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;
  nlohmann::json graph_;
};

}  // namespace sparrow::format
