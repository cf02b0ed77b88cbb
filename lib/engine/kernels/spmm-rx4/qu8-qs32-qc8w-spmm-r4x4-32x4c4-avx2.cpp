// 4 x 4 tiles, AVX2 (template: spmm-rx4-avx2.h).
#include "engine/kernels/spmm-rx4/spmm-rx4-avx2.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_spmm_r4x4_ukernel_32x4c4__avx2(std::size_t mr, const std::uint8_t* x_panel,
                                                   const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
                                                   std::int32_t* acc) {
  spmm_rx4<4, 32>(mr, x_panel, w, n_begin, n_end, acc);
}

}  // namespace sparrow::kernels
