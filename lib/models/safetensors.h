#pragma once
// The safetensors format: u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {..}}, raw
// little-endian tensor bytes. No LibTorch here; checkpoint.h adapts it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sparrow::models {

enum class SafeDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(SafeDType t);
const char* dtype_name(SafeDType t);

struct SafeTensorView {
  std::string name;
  SafeDType dtype;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

struct SafetensorsFile {
  std::shared_ptr<const std::string> buffer;  // the whole file; views point into it
  std::map<std::string, std::string> metadata;
  std::vector<SafeTensorView> tensors;  // in data order
  const SafeTensorView* find(const std::string& name) const;
};

// Tensors are laid out in the given order, the header padded to 8 bytes.
std::string serialize_safetensors(const std::vector<SafeTensorView>& tensors,
                                  const std::map<std::string, std::string>& metadata);

// Strict: header length, JSON, dtypes, shapes vs byte counts, offsets in
// bounds, no overlap and no gap. Errors are BadInput naming `source` and the tensor.
SafetensorsFile parse_safetensors(std::string buffer, const std::string& source);
SafetensorsFile read_safetensors(const std::filesystem::path& file);

}  // namespace sparrow::models
