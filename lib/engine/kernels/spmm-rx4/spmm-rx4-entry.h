// The body of every spmm-rx4 kernel function: checks the micro-kernel contract (ukernels.h) and picks the
// column-index width. Included at the end of each ISA's template header, after its spmm_tile_rows<R, Index>;
// internal linkage keeps each ISA's copy in its own files.
#pragma once

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// Mr: the panel width the ISA's kernels take (0: any, the scalar reference).
template <std::size_t R, std::size_t Mr>
void spmm_rx4(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
              std::size_t n_end, std::int32_t* acc) {
  assert(Mr == 0 ? mr != 0 : mr == Mr);
  assert(w.rows == R && n_begin % R == 0);
  assert(n_begin <= n_end && n_end <= w.n);
  if (w.index == B4Index::u8) {
    spmm_tile_rows<R, std::uint8_t>(mr, x_panel, w, n_begin, n_end, acc);
  } else {
    spmm_tile_rows<R, std::uint16_t>(mr, x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace
}  // namespace sparrow::kernels
