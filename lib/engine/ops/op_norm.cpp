// Layer norm over the last axis, rows split over the pool.
#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void layer_norm(const OpArgs& a) {
  const std::size_t n = a.op.width, rows = a.in_elements(0) / n;
  kernels::parallel_for(a.pool, rows, [&](std::size_t begin, std::size_t end) {
    kernels::layer_norm_f32(a.in_f32(0) + begin * n, end - begin, n, n, a.op.gamma, a.op.beta, a.op.eps,
                            a.out_f32() + begin * n, n);
  });
}

}  // namespace sparrow::engine::ops
