// Max pooling (NCHW), first-token pooling ([B, L, H] -> [B, H]) and flatten (a copy: buffers are planned
// per value).
#include <cstring>

#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void max_pool(const OpArgs& a) {
  const auto& x = *a.in_shape[0];
  kernels::Pool2dShape s;
  s.channels = x[1];
  s.height = x[2];
  s.width = x[3];
  s.kernel = a.op.kernel;
  s.stride = a.op.stride;
  const std::size_t in_image = x[1] * x[2] * x[3], out_image = a.out_elements() / x[0];
  kernels::parallel_for(a.pool, x[0], [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) kernels::max_pool2d_f32(a.in_f32(0) + b * in_image, s, a.out_f32() + b * out_image);
  });
}

void first_token(const OpArgs& a) {
  const auto& x = *a.in_shape[0];
  for (std::size_t b = 0; b < x[0]; ++b) std::memcpy(a.out_f32() + b * x[2], a.in_f32(0) + b * x[1] * x[2], x[2] * sizeof(float));
}

void flatten(const OpArgs& a) {
  std::memcpy(a.out, a.in[0], a.out_bytes);
}

}  // namespace sparrow::engine::ops
