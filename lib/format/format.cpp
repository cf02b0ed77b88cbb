#include "format/format.h"

#include <array>
#include <cmath>

namespace sparrow::format {

namespace {
struct DTypeInfo {
  const char* name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, kDTypeCount> kDTypes = {{
    {"f32", 4}, {"i8", 1}, {"u8", 1}, {"i32", 4}, {"u32", 4}, {"u64", 8}, {"i64", 8}, {"u16", 2},
}};
}  // namespace

std::size_t dtype_size(DType t) { return kDTypes.at(static_cast<std::size_t>(t)).size; }
const char* dtype_name(DType t) { return kDTypes.at(static_cast<std::size_t>(t)).name; }
std::optional<DType> dtype_from_name(std::string_view name) {
  for (std::uint32_t i = 0; i < kDTypeCount; ++i)
    if (name == kDTypes[i].name) return static_cast<DType>(i);
  return std::nullopt;
}

std::uint64_t TensorInfo::elements() const {
  std::uint64_t n = 1;
  for (const auto d : dims) n *= d;
  return n;
}

std::optional<float> float32_of(double x) {
  // Converting a double outside float's range is undefined behaviour, so the overflow is caught first.
  static const double kOverflow = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
  if (!std::isfinite(x) || std::abs(x) >= kOverflow) return std::nullopt;
  return static_cast<float>(x);
}

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::sparse_int8: return "sparse_int8";
    case WeightFormat::dense_int8: return "dense_int8";
    case WeightFormat::fp32: return "fp32";
  }
  return "?";
}

std::optional<WeightFormat> weight_format_from_name(std::string_view name) {
  for (const auto f : {WeightFormat::sparse_int8, WeightFormat::dense_int8, WeightFormat::fp32})
    if (name == weight_format_name(f)) return f;
  return std::nullopt;
}

const char* errc_name(FormatErrc e) {
  switch (e) {
    case FormatErrc::io: return "io";
    case FormatErrc::truncated: return "truncated";
    case FormatErrc::bad_magic: return "bad_magic";
    case FormatErrc::bad_version: return "bad_version";
    case FormatErrc::bad_header: return "bad_header";
    case FormatErrc::bad_padding: return "bad_padding";
    case FormatErrc::graph_checksum: return "graph_checksum";
    case FormatErrc::table_checksum: return "table_checksum";
    case FormatErrc::bad_json: return "bad_json";
    case FormatErrc::bad_name: return "bad_name";
    case FormatErrc::duplicate_name: return "duplicate_name";
    case FormatErrc::bad_dtype: return "bad_dtype";
    case FormatErrc::bad_rank: return "bad_rank";
    case FormatErrc::bad_dims: return "bad_dims";
    case FormatErrc::size_overflow: return "size_overflow";
    case FormatErrc::size_mismatch: return "size_mismatch";
    case FormatErrc::bad_offset: return "bad_offset";
    case FormatErrc::trailing_bytes: return "trailing_bytes";
    case FormatErrc::tensor_checksum: return "tensor_checksum";
    case FormatErrc::bad_graph: return "bad_graph";
    case FormatErrc::missing_tensor: return "missing_tensor";
    case FormatErrc::bad_weight: return "bad_weight";
    case FormatErrc::bad_row_ptr: return "bad_row_ptr";
    case FormatErrc::bad_block_count: return "bad_block_count";
    case FormatErrc::bad_index_width: return "bad_index_width";
    case FormatErrc::bad_block_index: return "bad_block_index";
    case FormatErrc::unsorted_blocks: return "unsorted_blocks";
    case FormatErrc::bad_row_sum: return "bad_row_sum";
    case FormatErrc::bad_scale: return "bad_scale";
    case FormatErrc::bad_input_quant: return "bad_input_quant";
  }
  return "?";
}

}  // namespace sparrow::format
