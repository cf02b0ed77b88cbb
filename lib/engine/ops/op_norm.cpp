// Layer norm over the last axis, rows split over the pool. With two inputs (a residual add folded in by the
// model) each row's sum is formed in the output row and normalized in place, while it is in L1.
#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void layer_norm(const OpArgs& a) {
  const Op& op = a.op;
  const std::size_t n = op.width, rows = a.in_elements(0) / n;
  kernels::parallel_for(a.pool, rows, [&](std::size_t begin, std::size_t end) {
    if (a.in.size() == 1) {
      kernels::layer_norm_f32(a.in_f32(0) + begin * n, end - begin, n, n, op.gamma, op.beta, op.eps, a.out_f32() + begin * n, n);
      return;
    }
    for (std::size_t r = begin; r < end; ++r) {
      float* row = a.out_f32() + r * n;
      kernels::add_f32(a.in_f32(0) + r * n, a.in_f32(1) + r * n, n, row);
      kernels::layer_norm_f32(row, 1, n, n, op.gamma, op.beta, op.eps, row, n);
    }
  });
}

}  // namespace sparrow::engine::ops
