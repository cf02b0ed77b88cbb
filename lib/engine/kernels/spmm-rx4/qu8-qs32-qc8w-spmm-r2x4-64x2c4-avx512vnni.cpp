// 2 x 4 tiles, AVX-512 VNNI (template: spmm-rx4-avx512vnni.h).
#include "engine/kernels/spmm-rx4/spmm-rx4-avx512vnni.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_spmm_r2x4_ukernel_64x2c4__avx512vnni(std::size_t mr, const std::uint8_t* x_panel,
                                                       const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
                                                       std::int32_t* acc) {
  spmm_rx4<2, 64>(mr, x_panel, w, n_begin, n_end, acc);
}

}  // namespace sparrow::kernels
