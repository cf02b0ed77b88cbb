#include "format/weights.h"

#include <string>

#include "core/errors.h"

namespace sparrow::format {

std::optional<DType> block_k4_dtype_for(std::size_t k4) {
  if (k4 <= kMaxK4U8) return DType::u8;
  if (k4 <= kMaxK4U16) return DType::u16;
  return std::nullopt;
}

std::size_t block_k4_at(const WeightsView& w, std::size_t b) {
  return w.block_k4_dtype == DType::u8 ? static_cast<const std::uint8_t*>(w.block_k4)[b]
                                       : static_cast<const std::uint16_t*>(w.block_k4)[b];
}

WeightsView PackedWeights::view() const {
  WeightsView v;
  v.format = format;
  v.n = n;
  v.k = k;
  v.block_rows = block_rows;
  v.row_ptr = row_ptr.empty() ? nullptr : row_ptr.data();
  v.block_k4_dtype = block_k4_dtype;
  v.block_k4 = block_k4_dtype == DType::u8 ? static_cast<const void*>(block_k4_u8.data()) : block_k4_u16.data();
  v.block_w = block_w.empty() ? nullptr : block_w.data();
  v.block_count = block_w.size() / block_rows;
  v.dense = dense.empty() ? nullptr : dense.data();
  v.f32 = f32.empty() ? nullptr : f32.data();
  v.row_sum = row_sum.empty() ? nullptr : row_sum.data();
  v.scale = scale.empty() ? nullptr : scale.data();
  v.bias = bias.empty() ? nullptr : bias.data();
  return v;
}

namespace {

// The 4 weights of block b of row `row` as one little-endian word (inputs past k are 0).
std::uint32_t block_word(const std::int8_t* w, std::size_t k, std::size_t row, std::size_t b) {
  std::uint32_t word = 0;
  for (std::size_t j = 0; j < 4 && b * 4 + j < k; ++j)
    word |= std::uint32_t{static_cast<std::uint8_t>(w[row * k + b * 4 + j])} << (8 * j);
  return word;
}

std::vector<std::int32_t> row_sums(const std::int8_t* w, std::size_t n, std::size_t k) {
  std::vector<std::int32_t> sums(n, 0);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t i = 0; i < k; ++i) sums[row] += w[row * k + i];
  return sums;
}

}  // namespace

PackedWeights pack_sparse_int8(const std::int8_t* w, std::size_t n, std::size_t k, std::size_t block_rows) {
  if (!valid_block_rows(block_rows)) throw InternalError("sparse_int8: block_rows " + std::to_string(block_rows));
  PackedWeights out;
  out.format = WeightFormat::sparse_int8;
  out.n = n;
  out.k = k;
  out.block_rows = block_rows;
  const auto index = block_k4_dtype_for(k4_of(k));
  if (!index)
    throw BadInput("sparse_int8: in_features " + std::to_string(k) + " exceeds " + std::to_string(4 * kMaxK4U16) +
                   ", the largest a 16-bit column index reaches");
  out.block_k4_dtype = *index;
  out.row_ptr.assign(1, 0);
  std::vector<std::uint32_t> words(block_rows);
  for (std::size_t row0 = 0; row0 < n; row0 += block_rows) {
    for (std::size_t b = 0; b < k4_of(k); ++b) {
      bool any = false;
      for (std::size_t r = 0; r < block_rows; ++r) {
        words[r] = row0 + r < n ? block_word(w, k, row0 + r, b) : 0;
        any = any || words[r] != 0;
      }
      if (!any) continue;
      if (out.block_k4_dtype == DType::u8) {
        out.block_k4_u8.push_back(static_cast<std::uint8_t>(b));
      } else {
        out.block_k4_u16.push_back(static_cast<std::uint16_t>(b));
      }
      for (const std::uint32_t word : words) out.block_w.push_back(static_cast<std::int32_t>(word));
    }
    out.row_ptr.push_back(static_cast<std::uint32_t>(out.block_w.size() / block_rows));
  }
  return out;
}

PackedWeights pack_dense_int8(const std::int8_t* w, std::size_t n, std::size_t k) {
  PackedWeights out;
  out.format = WeightFormat::dense_int8;
  out.n = n;
  out.k = k;
  const std::size_t k4 = k4_of(k), groups = (n + kDenseInt8GroupRows - 1) / kDenseInt8GroupRows;
  out.dense.assign(groups * k4 * kDenseInt8GroupRows * 4, 0);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t b = 0; b < k4; ++b)
      for (std::size_t j = 0; j < 4 && b * 4 + j < k; ++j)
        out.dense[((row / kDenseInt8GroupRows * k4 + b) * kDenseInt8GroupRows + row % kDenseInt8GroupRows) * 4 + j] =
            w[row * k + b * 4 + j];
  out.row_sum = row_sums(w, n, k);
  return out;
}

PackedWeights pack_fp32(const float* w, std::size_t n, std::size_t k) {
  PackedWeights out;
  out.format = WeightFormat::fp32;
  out.n = n;
  out.k = k;
  out.f32.assign((n + kF32PanelRows - 1) / kF32PanelRows * k * kF32PanelRows, 0.0f);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t i = 0; i < k; ++i)
      out.f32[(row / kF32PanelRows * k + i) * kF32PanelRows + row % kF32PanelRows] = w[row * k + i];
  return out;
}

std::vector<std::int8_t> unpack_int8(const WeightsView& w) {
  std::vector<std::int8_t> out(w.n * w.k, 0);
  if (w.format == WeightFormat::sparse_int8) {
    for (std::size_t row = 0; row < w.n; ++row) {
      const std::size_t tile_row = row / w.block_rows, r = row % w.block_rows;
      for (std::uint32_t b = w.row_ptr[tile_row]; b < w.row_ptr[tile_row + 1]; ++b)
        for (std::size_t j = 0; j < 4 && block_k4_at(w, b) * 4 + j < w.k; ++j)
          out[row * w.k + block_k4_at(w, b) * 4 + j] = block_weight(w, b * w.block_rows + r, j);
    }
  } else if (w.format == WeightFormat::dense_int8) {
    const std::size_t k4 = k4_of(w.k);
    for (std::size_t row = 0; row < w.n; ++row)
      for (std::size_t i = 0; i < w.k; ++i)
        out[row * w.k + i] =
            w.dense[((row / kDenseInt8GroupRows * k4 + i / 4) * kDenseInt8GroupRows + row % kDenseInt8GroupRows) * 4 +
                    i % 4];
  }
  return out;
}

std::vector<float> unpack_fp32(const WeightsView& w) {
  std::vector<float> out(w.n * w.k, 0.0f);
  if (w.format != WeightFormat::fp32) return out;
  for (std::size_t row = 0; row < w.n; ++row)
    for (std::size_t i = 0; i < w.k; ++i)
      out[row * w.k + i] = w.f32[(row / kF32PanelRows * w.k + i) * kF32PanelRows + row % kF32PanelRows];
  return out;
}

double block_sparsity(const WeightsView& w) {
  const std::size_t k4 = k4_of(w.k), total = w.n * k4;
  if (total == 0) return 0.0;
  if (w.format == WeightFormat::sparse_int8) {
    // Words of stored tiles may be zero (a tile is kept for any nonzero weight): count the nonzero ones.
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < w.block_count * w.block_rows; ++i) nonzero += w.block_w[i] != 0;
    return 1.0 - static_cast<double>(nonzero) / static_cast<double>(total);
  }
  std::vector<bool> nonzero(w.n * w.k);
  if (w.format == WeightFormat::dense_int8) {
    const auto q = unpack_int8(w);
    for (std::size_t i = 0; i < q.size(); ++i) nonzero[i] = q[i] != 0;
  } else {
    const auto f = unpack_fp32(w);
    for (std::size_t i = 0; i < f.size(); ++i) nonzero[i] = f[i] != 0.0f;
  }
  std::size_t zero = 0;
  for (std::size_t b = 0; b < total; ++b) {
    const std::size_t row = b / k4, first = (b % k4) * 4;
    bool all_zero = true;
    for (std::size_t i = first; i < first + 4 && i < w.k; ++i) all_zero = all_zero && !nonzero[row * w.k + i];
    zero += all_zero;
  }
  return static_cast<double>(zero) / static_cast<double>(total);
}

std::uint64_t stored_bytes(const WeightsView& w) {
  const std::uint64_t n = w.n, k4 = k4_of(w.k), bias = w.bias ? n * 4 : 0;
  switch (w.format) {
    case WeightFormat::sparse_int8:
      return (tile_rows_of(n, w.block_rows) + 1) * 4 + w.block_count * (dtype_size(w.block_k4_dtype) + 4 * w.block_rows) +
             n * 4 + bias;
    case WeightFormat::dense_int8:
      return (n + kDenseInt8GroupRows - 1) / kDenseInt8GroupRows * k4 * kDenseInt8GroupRows * 4 + n * 8 + bias;
    case WeightFormat::fp32: return (n + kF32PanelRows - 1) / kF32PanelRows * w.k * kF32PanelRows * 4 + bias;
  }
  return 0;
}

bool is_encoder_linear(std::string_view op_name, std::string_view op_kind) {
  return op_kind == "linear" && op_name.find(".encoder.") != std::string_view::npos;
}

std::uint64_t dense_fp32_bytes(const WeightsView& w) {
  return std::uint64_t{w.n} * w.k * 4 + (w.bias ? std::uint64_t{w.n} * 4 : 0);
}

}  // namespace sparrow::format
