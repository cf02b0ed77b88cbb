// Builds a .sparrow file: tensors are added with their bytes, the graph JSON is set, and serialize()
// lays everything out as docs/format.md says (the exporter and the tests are its callers).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "format/format.h"
#include "format/weights.h"

namespace sparrow::format {

class Writer {
 public:
  // Copies `nbytes` bytes; they must be dims' element count times the dtype's size.
  void add_tensor(const std::string& name, DType dtype, std::vector<std::uint64_t> dims, const void* data,
                  std::size_t nbytes);
  template <class T>
  void add_tensor(const std::string& name, DType dtype, std::vector<std::uint64_t> dims, const std::vector<T>& v) {
    add_tensor(name, dtype, std::move(dims), v.data(), v.size() * sizeof(T));
  }
  // Adds the arrays of a packed linear/conv weight as `<prefix>.<role>` and returns the op's "weights"
  // object (role -> tensor name). The op's attrs must carry the matching weight_format, in/out_features
  // (and for sparse_int8 block_k4_dtype, the name of w.block_k4_dtype).
  nlohmann::json add_weights(const std::string& prefix, const PackedWeights& w);

  void set_graph(nlohmann::json graph) { graph_ = std::move(graph); }
  const nlohmann::json& graph() const { return graph_; }

  // The whole file. Duplicate tensor names are an InternalError (a writer bug, not an input problem).
  std::string serialize() const;
  // serialize() written atomically (temporary name, then rename).
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    TensorInfo info;
    std::string bytes;
  };
  std::vector<Entry> tensors_;
  nlohmann::json graph_ = nlohmann::json::object();
};

// zlib's crc32 of a byte range.
std::uint32_t crc32_of(const void* data, std::size_t size);

}  // namespace sparrow::format
