// Linear/conv weights in the layouts the engine's kernels read in place (docs/format.md "Weight layouts"),
// the torch-free packers that produce them, and unpackers back to dense row-major for checks and tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/format.h"

namespace sparrow::format {

inline constexpr std::size_t kDenseInt8GroupRows = 4;  // dense_int8: 4 output channels per group
inline constexpr std::size_t kF32PanelRows = 16;       // fp32: 16 output channels per panel

inline std::size_t k4_of(std::size_t k) { return (k + 3) / 4; }

// Views into a file's data (or into a PackedWeights); null where the format has no such array.
struct WeightsView {
  WeightFormat format = WeightFormat::fp32;
  std::size_t n = 0;           // output channels
  std::size_t k = 0;           // inputs per channel (conv2d: in_channels * kh * kw)
  std::size_t block_rows = 1;  // sparse_int8: output rows sharing one block pattern
  const std::uint32_t* row_ptr = nullptr;  // sparse_int8: [n / block_rows + 1]
  const std::uint64_t* blocks = nullptr;   // sparse_int8: [block_count] records
  std::size_t block_count = 0;
  const std::int8_t* dense = nullptr;      // dense_int8: [ceil(n/4)][k4][4][4]
  const float* f32 = nullptr;              // fp32: [ceil(n/16)][k][16]
  const std::int32_t* row_sum = nullptr;   // int8 formats: [n]
  const float* scale = nullptr;            // int8 formats: [n]
  const float* bias = nullptr;             // [n] or null
};

// Owning buffers in file layout. scale and bias are set by the caller (the packers know only weights).
struct PackedWeights {
  WeightFormat format = WeightFormat::fp32;
  std::size_t n = 0;
  std::size_t k = 0;
  std::vector<std::uint32_t> row_ptr;
  std::vector<std::uint64_t> blocks;
  std::vector<std::int8_t> dense;
  std::vector<float> f32;
  std::vector<std::int32_t> row_sum;
  std::vector<float> scale;
  std::vector<float> bias;
  WeightsView view() const;
};

// w is row-major [n][k]. A 1x4 block is kept when any of its 4 weights is nonzero; k is padded with zeros
// to a multiple of 4. Identical to the engine's pack_b4 / pack_qc8w / pack_f32.
PackedWeights pack_sparse_int8(const std::int8_t* w, std::size_t n, std::size_t k);
PackedWeights pack_dense_int8(const std::int8_t* w, std::size_t n, std::size_t k);
PackedWeights pack_fp32(const float* w, std::size_t n, std::size_t k);

// Back to row-major [n][k] (int8 formats / fp32).
std::vector<std::int8_t> unpack_int8(const WeightsView& w);
std::vector<float> unpack_fp32(const WeightsView& w);

// Share of the 1x4 blocks (rows x K4) whose weights are all zero, for any format.
double block_sparsity(const WeightsView& w);

// Bytes of the packed weight arrays (row pointers, blocks, row sums, scales or the dense panels), no bias.
std::size_t weight_bytes(const WeightsView& w);

// The 4 INT8 weights and the k4 index of one sparse block record.
inline std::uint32_t block_k4(std::uint64_t record) { return static_cast<std::uint32_t>(record); }
inline std::int8_t block_weight(std::uint64_t record, std::size_t j) {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(record >> (32 + 8 * j)));
}

}  // namespace sparrow::format
