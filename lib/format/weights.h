// Linear/conv weights in the layouts the engine's kernels read in place (docs/format.md "Weight layouts"),
// the torch-free packers that produce them, and unpackers back to dense row-major for checks and tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "format/format.h"

namespace sparrow::format {

inline constexpr std::size_t kDenseInt8GroupRows = 4;  // dense_int8: 4 output channels per group
inline constexpr std::size_t kF32PanelRows = 16;       // fp32: 16 output channels per panel

inline std::size_t k4_of(std::size_t k) { return (k + 3) / 4; }

// sparse_int8 tiles span block_rows R output channels (R x 4 tiles; R = 1 is plain 1x4 blocks). R is 1, 2
// or 4; row_ptr runs over the ceil(N / R) tile rows.
inline bool valid_block_rows(std::size_t r) { return r == 1 || r == 2 || r == 4; }
inline std::size_t tile_rows_of(std::size_t n, std::size_t block_rows) { return (n + block_rows - 1) / block_rows; }

// sparse_int8 column-block indices are u8 while K4 <= 256 and u16 up to K4 = 65536 (the attribute
// block_k4_dtype names the width); larger K cannot be stored sparse. Empty when K4 is too large.
std::optional<DType> block_k4_dtype_for(std::size_t k4);
inline constexpr std::size_t kMaxK4U8 = 256;
inline constexpr std::size_t kMaxK4U16 = 65536;

// Views into a file's data (or into a PackedWeights); null where the format has no such array.
struct WeightsView {
  WeightFormat format = WeightFormat::fp32;
  std::size_t n = 0;           // output channels
  std::size_t k = 0;           // inputs per channel (conv2d: in_channels * kh * kw)
  std::size_t block_rows = 1;  // sparse_int8: output rows sharing one block pattern
  const std::uint32_t* row_ptr = nullptr;  // sparse_int8: [ceil(n / block_rows) + 1]
  DType block_k4_dtype = DType::u8;        // sparse_int8: u8 or u16
  const void* block_k4 = nullptr;          // sparse_int8: [block_count] column-block indices
  // sparse_int8: [block_count * block_rows] words of 4 INT8 weights, little-endian; tile b's word for
  // channel block_rows * t + r is block_w[b * block_rows + r] (0 for channels past n).
  const std::int32_t* block_w = nullptr;
  std::size_t block_count = 0;             // sparse_int8: stored tiles (blocks when block_rows = 1)
  const std::int8_t* dense = nullptr;      // dense_int8: [ceil(n/4)][k4][4][4]
  const float* f32 = nullptr;              // fp32: [ceil(n/16)][k][16]
  const std::int32_t* row_sum = nullptr;   // dense_int8: [n] (sparse_int8 stores none)
  const float* scale = nullptr;            // int8 formats: [n]
  const float* bias = nullptr;             // [n] or null
};

// Owning buffers in file layout. scale and bias are set by the caller (the packers know only weights).
struct PackedWeights {
  WeightFormat format = WeightFormat::fp32;
  std::size_t n = 0;
  std::size_t k = 0;
  std::size_t block_rows = 1;
  std::vector<std::uint32_t> row_ptr;
  DType block_k4_dtype = DType::u8;
  std::vector<std::uint8_t> block_k4_u8;  // one of these two holds the indices, per block_k4_dtype
  std::vector<std::uint16_t> block_k4_u16;
  std::vector<std::int32_t> block_w;
  std::vector<std::int8_t> dense;
  std::vector<float> f32;
  std::vector<std::int32_t> row_sum;
  std::vector<float> scale;
  std::vector<float> bias;
  WeightsView view() const;
};

// w is row-major [n][k]. A block_rows x 4 tile is kept when any of its weights is nonzero; k is padded with
// zeros to a multiple of 4, n to a multiple of block_rows. These are the only packers: the engine's kernels,
// their tests and bench_kernels read exactly these layouts. pack_sparse_int8 throws BadInput when K4 exceeds 65536, InternalError for a block_rows other
// than 1, 2 or 4.
PackedWeights pack_sparse_int8(const std::int8_t* w, std::size_t n, std::size_t k, std::size_t block_rows = 1);
PackedWeights pack_dense_int8(const std::int8_t* w, std::size_t n, std::size_t k);
PackedWeights pack_fp32(const float* w, std::size_t n, std::size_t k);

// Back to row-major [n][k] (int8 formats / fp32).
std::vector<std::int8_t> unpack_int8(const WeightsView& w);
std::vector<float> unpack_fp32(const WeightsView& w);

// Share of the 1x4 blocks (rows x K4) whose weights are all zero, for any format.
double block_sparsity(const WeightsView& w);

// What a layer costs in the file (docs/format.md "Layer size"): every array it stores — row pointers,
// column indices, weights, row sums, scales and bias — against the same layer as dense FP32 (N x K weights
// plus the bias when it has one).
std::uint64_t stored_bytes(const WeightsView& w);
std::uint64_t dense_fp32_bytes(const WeightsView& w);

// The layers the size target speaks of: the linear ops of a BERT encoder (attention and FFN of
// bert.encoder.layer.*; not embeddings, pooler or classifier), recognised by ".encoder." in the op name.
bool is_encoder_linear(std::string_view op_name, std::string_view op_kind);

// Column block of stored tile b, and INT8 weight j of word `word` of block_w, in a sparse_int8 view.
std::size_t block_k4_at(const WeightsView& w, std::size_t b);
inline std::int8_t block_weight(const WeightsView& w, std::size_t word, std::size_t j) {
  return static_cast<std::int8_t>(static_cast<std::uint32_t>(w.block_w[word]) >> (8 * j));
}

}  // namespace sparrow::format
