// The .sparrow file's constants, element types and error codes (spec: docs/format.md). No LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace sparrow::format {

inline constexpr char kMagic[8] = {'S', 'P', 'A', 'R', 'R', 'O', 'W', '\0'};
// Version 2 stores sparse_int8 as separate index and weight arrays without row sums; a version-1 file's
// 8-byte block records are not read any more (docs/format.md "Compatibility").
inline constexpr std::uint32_t kVersion = 2;
inline constexpr std::uint32_t kOldestVersion = 2;
inline constexpr std::size_t kHeaderBytes = 64;
inline constexpr std::size_t kTableAlign = 8;
inline constexpr std::size_t kDataAlign = 64;
// Limits a reader enforces before allocating anything (docs/format.md "Limits").
inline constexpr std::uint64_t kMaxGraphBytes = 64ull << 20;
inline constexpr std::uint64_t kMaxTableBytes = 64ull << 20;
inline constexpr std::uint64_t kMaxTensors = 1u << 20;
inline constexpr std::uint32_t kMaxNameBytes = 256;
inline constexpr std::uint32_t kMaxRank = 4;
inline constexpr std::uint64_t kMaxDim = 1ull << 32;
inline constexpr int kMaxJsonDepth = 64;

enum class DType : std::uint32_t { f32 = 0, i8 = 1, u8 = 2, i32 = 3, u32 = 4, u64 = 5, i64 = 6, u16 = 7 };
inline constexpr std::uint32_t kDTypeCount = 8;
std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);

// One value per check a reader makes, so tests can tell which check caught a corruption.
enum class FormatErrc {
  io,
  truncated,
  bad_magic,
  bad_version,
  bad_header,
  bad_padding,
  graph_checksum,
  table_checksum,
  bad_json,
  bad_name,
  duplicate_name,
  bad_dtype,
  bad_rank,
  bad_dims,
  size_overflow,
  size_mismatch,
  bad_offset,
  trailing_bytes,
  tensor_checksum,
  bad_graph,
  missing_tensor,
  bad_weight,
  bad_row_ptr,
  bad_block_count,
  bad_index_width,
  bad_block_index,
  unsorted_blocks,
  bad_row_sum,
  bad_scale,
  bad_input_quant,
};
const char* errc_name(FormatErrc e);

// A malformed .sparrow file: BadInput (exit code 2) that also carries the failed check.
class FormatError : public BadInput {
 public:
  FormatError(FormatErrc code, const std::string& message) : BadInput(message), code_(code) {}
  FormatErrc code() const { return code_; }

 private:
  FormatErrc code_;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::uint64_t> dims;
  std::uint64_t offset = 0;  // from the start of the data section
  std::uint64_t nbytes = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t elements() const;
};

// How a linear or conv2d op stores its weight (docs/format.md "Weight layouts").
enum class WeightFormat { sparse_int8, dense_int8, fp32 };
const char* weight_format_name(WeightFormat f);
std::optional<WeightFormat> weight_format_from_name(std::string_view name);

// A JSON number as the engine uses it: the parser's nearest double, rounded to the nearest float32 (ties to
// even). Empty when the double is not finite or its rounding overflows float32 (|x| >= 2^128 - 2^103).
std::optional<float> float32_of(double x);

inline constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace sparrow::format
