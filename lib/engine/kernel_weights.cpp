#include "engine/kernel_weights.h"

#include <string>

#include "core/errors.h"
#include "engine/kernels/linear.h"

namespace sparrow::engine {

LinearWeights kernel_weights(const format::WeightsView& w, const std::string& where) {
  LinearWeights out;
  out.format = w.format;
  out.n = w.n;
  out.k = w.k;
  out.bias = w.bias;
  const std::size_t k4 = format::k4_of(w.k);
  switch (w.format) {
    case format::WeightFormat::fp32:
      out.f32 = w.f32;
      return out;
    case format::WeightFormat::sparse_int8: {
      if (!format::valid_block_rows(w.block_rows))
        throw BadInput(where + ": block_rows " + std::to_string(w.block_rows) + " is not supported by this engine (1, 2 or 4)");
      const auto index = w.block_k4_dtype == format::DType::u16 ? kernels::B4Index::u16 : kernels::B4Index::u8;
      out.sparse = {w.n, k4, w.row_ptr, index, w.block_k4, w.block_w, w.block_rows};
      out.row_sum = kernels::b4_row_sums(out.sparse);
      break;
    }
    case format::WeightFormat::dense_int8: {
      out.dense = {w.n, k4, reinterpret_cast<const std::int32_t*>(w.dense)};
      out.row_sum.assign(w.n, 0);
      // dense[g][b][r][j] = W[4g + r][4b + j]
      for (std::size_t r = 0; r < w.n; ++r)
        for (std::size_t b = 0; b < k4; ++b)
          for (std::size_t j = 0; j < 4; ++j)
            out.row_sum[r] += w.dense[((r / 4) * k4 + b) * 16 + (r % 4) * 4 + j];
      break;
    }
  }
  out.scale = w.scale;
  return out;
}

}  // namespace sparrow::engine
