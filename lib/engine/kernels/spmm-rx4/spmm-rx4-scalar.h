// Portable reference for R x 4 tiles, generic over R: the oracle the SIMD spmm-rx4 kernels are tested
// against. Included only by the per-R kernel files; internal linkage keeps each instantiation in its own file.
#pragma once

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <std::size_t R, class Index>
void spmm_tile_rows(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
                    std::size_t n_end, std::int32_t* acc) {
  const Index* block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    const std::size_t tile_row = n / R, r = n % R;
    std::int32_t* out = acc + (n - n_begin) * mr;
    for (std::size_t t = 0; t < mr; ++t) out[t] = 0;
    for (std::uint32_t b = w.row_ptr[tile_row]; b < w.row_ptr[tile_row + 1]; ++b) {
      const std::size_t k4 = block_k4[b];
      assert(k4 < w.k4);
      const auto word = static_cast<std::uint32_t>(w.block_w[b * R + r]);
      const std::uint8_t* x = x_panel + k4 * mr * 4;
      for (std::size_t t = 0; t < mr; ++t)
        for (int j = 0; j < 4; ++j)
          out[t] += static_cast<std::int32_t>(x[t * 4 + j]) * static_cast<std::int8_t>(word >> (8 * j));
    }
  }
}

}  // namespace
}  // namespace sparrow::kernels

#include "engine/kernels/spmm-rx4/spmm-rx4-entry.h"
