#include "models/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/errors.h"
#include "core/files.h"

namespace sparrow::models {

namespace {

struct DTypeInfo {
  SafeDType type;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {SafeDType::F64, "F64", 8}, {SafeDType::F32, "F32", 4}, {SafeDType::F16, "F16", 2},
    {SafeDType::BF16, "BF16", 2}, {SafeDType::I64, "I64", 8}, {SafeDType::I32, "I32", 4},
    {SafeDType::I16, "I16", 2}, {SafeDType::I8, "I8", 1},   {SafeDType::U8, "U8", 1},
    {SafeDType::BOOL, "BOOL", 1},
};

// Larger headers are refused before allocating anything for them.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr int kMaxRank = 8;

const DTypeInfo& info(SafeDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  throw InternalError("safetensors: unknown dtype enum");
}

}  // namespace

size_t dtype_size(SafeDType t) { return info(t).size; }
const char* dtype_name(SafeDType t) { return info(t).name; }

const SafeTensorView* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string serialize_safetensors(const std::vector<SafeTensorView>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += json;
  out.reserve(out.size() + offset);
  for (const auto& t : tensors) out.append(t.bytes.data(), t.bytes.size());
  return out;
}

SafetensorsFile parse_safetensors(std::string buffer, const std::string& source) {
  SafetensorsFile file;
  file.buffer = std::make_shared<const std::string>(std::move(buffer));
  const std::string& buf = *file.buffer;
  if (buf.size() < 8) throw BadInput(source + ": too short for a safetensors header (" + std::to_string(buf.size()) + " bytes)");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t{static_cast<unsigned char>(buf[static_cast<size_t>(i)])} << (8 * i);
  if (header_len > kMaxHeaderBytes) throw BadInput(source + ": header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
  if (header_len > buf.size() - 8)
    throw BadInput(source + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(buf.size()) + " bytes)");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(buf.begin() + 8, buf.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(source + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw BadInput(source + ": header must be a JSON object");

  const size_t data_begin = 8 + header_len;
  const uint64_t data_len = buf.size() - data_begin;
  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw BadInput(source + ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw BadInput(source + ": __metadata__." + k + " must be a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = source + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw BadInput(where + " needs dtype, shape and data_offsets");
    SafeTensorView t;
    t.name = name;
    const auto& dtype = entry["dtype"];
    const auto found = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                    [&](const DTypeInfo& d) { return dtype.is_string() && dtype.get<std::string>() == d.name; });
    if (found == std::end(kDTypes)) throw BadInput(where + " has unsupported dtype " + dtype.dump());
    t.dtype = found->type;
    const auto& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > kMaxRank) throw BadInput(where + ": shape must be a list of at most 8 dimensions");
    uint64_t elements = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) throw BadInput(where + ": shape entries must be non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      if (v != 0 && elements > std::numeric_limits<uint64_t>::max() / 2 / v) throw BadInput(where + ": shape overflows");
      elements *= v;
      t.shape.push_back(static_cast<int64_t>(v));
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw BadInput(where + ": data_offsets must be [begin, end]");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (end < begin) throw BadInput(where + ": data_offsets end < begin");
    if (end > data_len)
      throw BadInput(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] run past the data (" + std::to_string(data_len) + " bytes)");
    if (elements > std::numeric_limits<uint64_t>::max() / found->size || end - begin != elements * found->size)
      throw BadInput(where + ": " + std::to_string(end - begin) + " bytes for shape of " + std::to_string(elements) +
                     " elements of " + found->name);
    t.bytes = std::string_view(buf.data() + data_begin + begin, end - begin);
    spans.push_back({begin, end, file.tensors.size()});
    file.tensors.push_back(std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  uint64_t expected = 0;
  for (const auto& s : spans) {
    const std::string& name = file.tensors[s.index].name;
    if (s.begin < expected) throw BadInput(source + ": tensor '" + name + "' overlaps the previous tensor's data");
    if (s.begin > expected) throw BadInput(source + ": gap in the data before tensor '" + name + "'");
    expected = s.end;
  }
  if (expected != data_len)
    throw BadInput(source + ": " + std::to_string(data_len - expected) + " bytes after the last tensor's data");
  std::vector<SafeTensorView> ordered;
  for (const auto& s : spans) ordered.push_back(file.tensors[s.index]);
  file.tensors = std::move(ordered);
  return file;
}

SafetensorsFile read_safetensors(const std::filesystem::path& file) {
  return parse_safetensors(read_file(file), file.string());
}

}  // namespace sparrow::models
