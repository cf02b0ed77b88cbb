// Portable reference: the oracle every SIMD dense INT8 GEMM kernel is tested against.
#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_gemm_ukernel_1x1c4__scalar(std::size_t mr, const std::uint8_t* x_panel, const DenseQc8wView& w,
                                               std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr != 0);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  for (std::size_t n = n_begin; n < n_end; ++n) {
    std::int32_t* out = acc + (n - n_begin) * mr;
    const std::int32_t* wn = w.w + (n / kDenseQc8wNr) * w.k4 * kDenseQc8wNr + n % kDenseQc8wNr;
    for (std::size_t t = 0; t < mr; ++t) {
      std::int32_t sum = 0;
      for (std::size_t k4 = 0; k4 < w.k4; ++k4) {
        const std::uint32_t word = static_cast<std::uint32_t>(wn[k4 * kDenseQc8wNr]);
        const std::uint8_t* x = x_panel + (k4 * mr + t) * 4;
        for (int j = 0; j < 4; ++j) {
          sum += static_cast<std::int32_t>(x[j]) * static_cast<std::int8_t>(word >> (8 * j));
        }
      }
      out[t] = sum;
    }
  }
}

}  // namespace sparrow::kernels
