// Portable reference: the oracle every SIMD spmm-b4 kernel is tested against.
#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <class Index>
void spmm_rows(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
               std::size_t n_end, std::int32_t* acc) {
  const Index* block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    std::int32_t* out = acc + (n - n_begin) * mr;
    for (std::size_t t = 0; t < mr; ++t) out[t] = 0;
    for (std::uint32_t b = w.row_ptr[n]; b < w.row_ptr[n + 1]; ++b) {
      const std::size_t k4 = block_k4[b];
      assert(k4 < w.k4);
      const auto word = static_cast<std::uint32_t>(w.block_w[b]);
      std::int8_t wb[4];
      for (int j = 0; j < 4; ++j) wb[j] = static_cast<std::int8_t>(word >> (8 * j));
      const std::uint8_t* x = x_panel + k4 * mr * 4;
      for (std::size_t t = 0; t < mr; ++t) {
        for (int j = 0; j < 4; ++j) out[t] += static_cast<std::int32_t>(x[t * 4 + j]) * wb[j];
      }
    }
  }
}

}  // namespace

void qu8_qs32_qc8w_spmm_b4_ukernel_1x1c4__scalar(std::size_t mr, const std::uint8_t* x_panel,
                                                  const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
                                                  std::int32_t* acc) {
  assert(mr != 0);
  assert(n_begin <= n_end && n_end <= w.n);
  if (w.index == B4Index::u8) {
    spmm_rows<std::uint8_t>(mr, x_panel, w, n_begin, n_end, acc);
  } else {
    spmm_rows<std::uint16_t>(mr, x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
