#include "format/reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "format/byte_reader.h"
#include "format/graph_check.h"
#include "format/writer.h"

namespace sparrow::format {

namespace {

[[noreturn]] void fail(FormatErrc code, const std::string& message) { throw FormatError(code, message); }

// A fuzzer could almost never forge a CRC-32, so fuzzing builds accept wrong checksums and let it reach
// the checks behind them (the libFuzzer convention; never defined in a normal build).
bool checksum_ok(std::uint32_t computed, std::uint32_t stored) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  (void)computed;
  (void)stored;
  return true;
#else
  return computed == stored;
#endif
}

std::uint32_t bswap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

// Every byte of [begin, end) must be zero (padding carries no data, so a flip there is still caught).
void check_zero(const std::uint8_t* base, std::uint64_t begin, std::uint64_t end, const std::string& what) {
  for (std::uint64_t i = begin; i < end; ++i)
    if (base[i] != 0) fail(FormatErrc::bad_padding, what + ": padding byte at offset " + std::to_string(i) + " is not 0");
}

// Deepest bracket nesting of a JSON text outside strings: nlohmann's parser recurses, so nesting is
// capped before parsing to keep a hostile file from exhausting the stack.
int json_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

bool valid_name(std::string_view name) {
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return !name.empty();
}

struct Mapping {
  void* addr = nullptr;
  std::size_t size = 0;
  ~Mapping() {
    if (addr) ::munmap(addr, size);
  }
};

}  // namespace

File File::open(const std::filesystem::path& path) {
  File f;
  f.source_ = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(FormatErrc::io, f.source_ + ": cannot open (does the file exist?): " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(FormatErrc::io, f.source_ + ": not a regular file");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<std::size_t>(st.st_size);
  if (mapping->size > 0) {
    void* addr = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      ::close(fd);
      fail(FormatErrc::io, f.source_ + ": cannot map: " + std::strerror(errno));
    }
    mapping->addr = addr;
  }
  ::close(fd);
  f.base_ = static_cast<const std::uint8_t*>(mapping->addr);
  f.size_ = mapping->size;
  f.storage_ = mapping;
  f.read();
  return f;
}

File File::parse(std::string_view bytes, const std::string& source) {
  File f;
  f.source_ = source;
  void* buffer = std::aligned_alloc(kDataAlign, align_up(std::max<std::size_t>(bytes.size(), 1), kDataAlign));
  if (!buffer) throw std::bad_alloc();
  f.storage_ = std::shared_ptr<void>(buffer, std::free);
  if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
  f.base_ = static_cast<const std::uint8_t*>(buffer);
  f.size_ = bytes.size();
  f.read();
  return f;
}

const nlohmann::json& File::metadata() const {
  static const nlohmann::json empty = nlohmann::json::object();
  const auto it = graph_.find("metadata");
  return it == graph_.end() ? empty : *it;
}

const TensorInfo* File::find(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

WeightsView File::weights(const nlohmann::json& op) const { return resolve_weights(op, *this, /*check_values=*/false); }

void File::read() {
  const std::string& src = source_;
  if (size_ < kHeaderBytes)
    fail(FormatErrc::truncated, src + ": " + std::to_string(size_) + " bytes, shorter than the " +
                                    std::to_string(kHeaderBytes) + "-byte header");
  ByteReader header(base_, kHeaderBytes, src);
  if (header.bytes(sizeof(kMagic), "magic") != std::string_view(kMagic, sizeof(kMagic)))
    fail(FormatErrc::bad_magic, src + ": not a .sparrow file (magic is not \"SPARROW\\0\")");
  version_ = header.u32("version");
  if (version_ == 0) fail(FormatErrc::bad_version, src + ": version 0 is not a valid format version");
  if (version_ > kVersion && bswap32(version_) <= kVersion)
    fail(FormatErrc::bad_version, src + ": version " + std::to_string(version_) +
                                      " looks byte-swapped (written big-endian?); the format is little-endian");
  if (version_ > kVersion)
    fail(FormatErrc::bad_version, src + ": format version " + std::to_string(version_) +
                                      " is newer than this reader's (" + std::to_string(kVersion) + ")");
  if (version_ < kOldestVersion)
    fail(FormatErrc::bad_version, src + ": format version " + std::to_string(version_) + " is no longer read (this reader reads " +
                                      std::to_string(kOldestVersion) + " to " + std::to_string(kVersion) +
                                      "); export the checkpoint again with `compress export`");
  if (const auto flags = header.u32("flags"); flags != 0)
    fail(FormatErrc::bad_header, src + ": header flags are " + std::to_string(flags) + ", this version requires 0");
  const std::uint64_t graph_size = header.u64("graph_size");
  const std::uint64_t table_size = header.u64("table_size");
  const std::uint64_t tensor_count = header.u64("tensor_count");
  const std::uint64_t data_offset = header.u64("data_offset");
  const std::uint64_t data_size = header.u64("data_size");
  const std::uint32_t graph_crc = header.u32("graph_crc32");
  const std::uint32_t table_crc = header.u32("table_crc32");

  if (graph_size == 0 || graph_size > kMaxGraphBytes)
    fail(FormatErrc::bad_header, src + ": graph_size " + std::to_string(graph_size) + " is outside [1, " +
                                     std::to_string(kMaxGraphBytes) + "]");
  if (table_size > kMaxTableBytes)
    fail(FormatErrc::bad_header, src + ": table_size " + std::to_string(table_size) + " exceeds " +
                                     std::to_string(kMaxTableBytes));
  if (tensor_count > kMaxTensors)
    fail(FormatErrc::bad_header, src + ": tensor_count " + std::to_string(tensor_count) + " exceeds " +
                                     std::to_string(kMaxTensors));
  // Both sizes are capped above, so these sums cannot overflow.
  const std::uint64_t table_offset = align_up(kHeaderBytes + graph_size, kTableAlign);
  const std::uint64_t expected_data = align_up(table_offset + table_size, kDataAlign);
  if (data_offset != expected_data)
    fail(FormatErrc::bad_header, src + ": data_offset is " + std::to_string(data_offset) + ", expected " +
                                     std::to_string(expected_data) + " (64-byte aligned end of the tensor table)");
  if (data_offset > size_ || data_size > size_ - data_offset)
    fail(FormatErrc::truncated, src + ": the file has " + std::to_string(size_) + " bytes, its header says " +
                                    std::to_string(data_offset) + " + " + std::to_string(data_size) + " (truncated?)");
  if (data_offset + data_size != size_)
    fail(FormatErrc::trailing_bytes, src + ": " + std::to_string(size_ - data_offset - data_size) +
                                         " bytes after the end of the data section");
  data_offset_ = data_offset;

  check_zero(base_, kHeaderBytes + graph_size, table_offset, src + ": after the graph");
  check_zero(base_, table_offset + table_size, data_offset, src + ": after the tensor table");
  const std::string_view json(reinterpret_cast<const char*>(base_ + kHeaderBytes), graph_size);
  const std::string_view table(reinterpret_cast<const char*>(base_ + table_offset), table_size);
  if (!checksum_ok(crc32_of(json.data(), json.size()), graph_crc))
    fail(FormatErrc::graph_checksum, src + ": graph JSON checksum mismatch (the file is corrupt)");
  if (!checksum_ok(crc32_of(table.data(), table.size()), table_crc))
    fail(FormatErrc::table_checksum, src + ": tensor table checksum mismatch (the file is corrupt)");
  read_table(table, tensor_count, data_size);
  read_graph(json);
}

void File::read_table(std::string_view table, std::uint64_t count, std::uint64_t data_size) {
  const std::string& src = source_;
  ByteReader r(reinterpret_cast<const std::uint8_t*>(table.data()), table.size(), src + ": tensor table");
  std::uint64_t expected_offset = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string entry = "tensor #" + std::to_string(i);
    const std::uint32_t name_len = r.u32(entry + " name length");
    if (name_len == 0 || name_len > kMaxNameBytes)
      fail(FormatErrc::bad_name, src + ": " + entry + ": name length " + std::to_string(name_len) +
                                     " is outside [1, " + std::to_string(kMaxNameBytes) + "]");
    TensorInfo t;
    t.name = std::string(r.bytes(name_len, entry + " name"));
    if (!valid_name(t.name))
      fail(FormatErrc::bad_name, src + ": " + entry + ": name holds characters outside [A-Za-z0-9._:/-]");
    const std::string where = src + ": tensor '" + t.name + "'";
    if (by_name_.count(t.name)) fail(FormatErrc::duplicate_name, where + ": name used twice");
    const std::uint32_t dtype = r.u32(entry + " dtype");
    if (dtype >= kDTypeCount) fail(FormatErrc::bad_dtype, where + ": dtype " + std::to_string(dtype) + " is unknown");
    t.dtype = static_cast<DType>(dtype);
    const std::uint32_t rank = r.u32(entry + " rank");
    if (rank == 0 || rank > kMaxRank)
      fail(FormatErrc::bad_rank, where + ": rank " + std::to_string(rank) + " is outside [1, " +
                                     std::to_string(kMaxRank) + "]");
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < rank; ++d) {
      const std::uint64_t dim = r.u64(entry + " dim " + std::to_string(d));
      if (dim > kMaxDim) fail(FormatErrc::bad_dims, where + ": dim " + std::to_string(d) + " = " + std::to_string(dim) + " exceeds 2^32");
      if (dim != 0 && elements > UINT64_MAX / dim)
        fail(FormatErrc::size_overflow, where + ": the element count of its shape overflows 64 bits");
      elements *= dim;
      t.dims.push_back(dim);
    }
    if (elements > UINT64_MAX / dtype_size(t.dtype))
      fail(FormatErrc::size_overflow, where + ": its byte size overflows 64 bits");
    t.offset = r.u64(entry + " offset");
    t.nbytes = r.u64(entry + " nbytes");
    t.crc32 = r.u32(entry + " crc32");
    if (t.nbytes != elements * dtype_size(t.dtype))
      fail(FormatErrc::size_mismatch, where + ": nbytes is " + std::to_string(t.nbytes) + ", its shape and dtype need " +
                                          std::to_string(elements * dtype_size(t.dtype)));
    if (t.offset != expected_offset)
      fail(FormatErrc::bad_offset, where + ": offset is " + std::to_string(t.offset) + ", expected " +
                                       std::to_string(expected_offset) + " (64-byte aligned, right after the previous tensor)");
    if (t.nbytes > data_size - t.offset)
      fail(FormatErrc::bad_offset, where + ": bytes [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                                       ") run past the data section (" + std::to_string(data_size) + " bytes)");
    if (!checksum_ok(crc32_of(data(t), t.nbytes), t.crc32)) fail(FormatErrc::tensor_checksum, where + ": checksum mismatch (the file is corrupt)");
    const std::uint64_t end = t.offset + t.nbytes;
    // The next tensor starts at the next 64-byte boundary; the gap is zero padding.
    expected_offset = align_up(end, kDataAlign);
    if (i + 1 < count && expected_offset > data_size)
      fail(FormatErrc::truncated, where + ": the data section ends before the next tensor");
    if (i + 1 < count) check_zero(base_ + data_offset_, end, expected_offset, where + " padding");
    by_name_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    if (i + 1 == count && end != data_size)
      fail(FormatErrc::trailing_bytes, src + ": the data section has " + std::to_string(data_size - end) +
                                           " bytes after the last tensor");
  }
  if (count == 0 && data_size != 0)
    fail(FormatErrc::trailing_bytes, src + ": no tensors but " + std::to_string(data_size) + " data bytes");
  if (r.remaining() != 0)
    fail(FormatErrc::trailing_bytes, src + ": " + std::to_string(r.remaining()) + " bytes after the last tensor table entry");
}

void File::read_graph(std::string_view json) {
  if (json_depth(json) > kMaxJsonDepth)
    fail(FormatErrc::bad_json, source_ + ": graph JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    graph_ = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    fail(FormatErrc::bad_json, source_ + ": graph is not valid JSON: " + e.what());
  }
  check_graph(*this);
}

}  // namespace sparrow::format
