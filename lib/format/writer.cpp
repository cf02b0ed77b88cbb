#include "format/writer.h"

#include <zlib.h>

#include <set>

#include "core/files.h"

namespace sparrow::format {

std::uint32_t crc32_of(const void* data, std::size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  // zlib takes uInt lengths: feed large ranges in pieces.
  while (size > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

void Writer::add_tensor(const std::string& name, DType dtype, std::vector<std::uint64_t> dims, const void* data,
                        std::size_t nbytes) {
  Entry e;
  e.info.name = name;
  e.info.dtype = dtype;
  e.info.dims = std::move(dims);
  e.info.nbytes = nbytes;
  if (e.info.elements() * dtype_size(dtype) != nbytes)
    throw InternalError("format writer: tensor '" + name + "' has " + std::to_string(nbytes) +
                        " bytes, its shape needs " + std::to_string(e.info.elements() * dtype_size(dtype)));
  e.bytes.assign(static_cast<const char*>(data), nbytes);
  e.info.crc32 = crc32_of(e.bytes.data(), e.bytes.size());
  tensors_.push_back(std::move(e));
}

nlohmann::json Writer::add_weights(const std::string& prefix, const PackedWeights& w) {
  nlohmann::json roles = nlohmann::json::object();
  const auto add = [&](const char* role, DType dtype, std::vector<std::uint64_t> dims, const auto& v) {
    add_tensor(prefix + "." + role, dtype, std::move(dims), v);
    roles[role] = prefix + "." + role;
  };
  const std::uint64_t n = w.n, k4 = k4_of(w.k);
  switch (w.format) {
    case WeightFormat::sparse_int8:
      add("row_ptr", DType::u32, {w.row_ptr.size()}, w.row_ptr);
      if (w.block_k4_dtype == DType::u8) {
        add("block_k4", DType::u8, {w.block_k4_u8.size()}, w.block_k4_u8);
      } else {
        add("block_k4", DType::u16, {w.block_k4_u16.size()}, w.block_k4_u16);
      }
      add("block_w", DType::i32, {w.block_w.size()}, w.block_w);
      break;
    case WeightFormat::dense_int8:
      add("weight", DType::i8, {(n + kDenseInt8GroupRows - 1) / kDenseInt8GroupRows, k4, kDenseInt8GroupRows, 4},
          w.dense);
      break;
    case WeightFormat::fp32:
      add("weight", DType::f32, {(n + kF32PanelRows - 1) / kF32PanelRows, w.k, kF32PanelRows}, w.f32);
      break;
  }
  if (w.format == WeightFormat::dense_int8) add("row_sum", DType::i32, {n}, w.row_sum);
  if (w.format != WeightFormat::fp32) add("scale", DType::f32, {n}, w.scale);
  if (!w.bias.empty()) add("bias", DType::f32, {n}, w.bias);
  return roles;
}

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

std::string Writer::serialize() const {
  std::set<std::string> names;
  std::string table, data;
  for (const auto& e : tensors_) {
    if (!names.insert(e.info.name).second)
      throw InternalError("format writer: tensor '" + e.info.name + "' added twice");
    data.resize(align_up(data.size(), kDataAlign), '\0');
    put_u32(table, static_cast<std::uint32_t>(e.info.name.size()));
    table += e.info.name;
    put_u32(table, static_cast<std::uint32_t>(e.info.dtype));
    put_u32(table, static_cast<std::uint32_t>(e.info.dims.size()));
    for (const auto d : e.info.dims) put_u64(table, d);
    put_u64(table, data.size());
    put_u64(table, e.info.nbytes);
    put_u32(table, e.info.crc32);
    data += e.bytes;
  }
  const std::string graph = graph_.dump();
  const std::uint64_t table_offset = align_up(kHeaderBytes + graph.size(), kTableAlign);
  const std::uint64_t data_offset = align_up(table_offset + table.size(), kDataAlign);

  std::string out(kMagic, sizeof(kMagic));
  put_u32(out, kVersion);
  put_u32(out, 0);  // flags
  put_u64(out, graph.size());
  put_u64(out, table.size());
  put_u64(out, tensors_.size());
  put_u64(out, data_offset);
  put_u64(out, data.size());
  put_u32(out, crc32_of(graph.data(), graph.size()));
  put_u32(out, crc32_of(table.data(), table.size()));
  out += graph;
  out.resize(table_offset, '\0');
  out += table;
  out.resize(data_offset, '\0');
  out += data;
  return out;
}

void Writer::write(const std::filesystem::path& path) const { write_file_atomic(path, serialize()); }

}  // namespace sparrow::format
