// Multi-head self-attention over the batch, FP32 or INT8 (the kernel splits (sequence, head) pairs over the pool).
#include <cmath>

#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void attention(const OpArgs& a) {
  const Op& op = a.op;
  const auto& s = *a.in_shape[0];
  const std::size_t batch = s[0], seq = s[1], width = s[2];
  const float scale = 1.0f / std::sqrt(static_cast<float>(op.head_size));
  std::uint8_t* key_valid = nullptr;
  if (a.in.size() > 3) {
    key_valid = a.scratch;
    const auto* mask = static_cast<const std::int64_t*>(a.in[3]);
    for (std::size_t i = 0; i < batch * seq; ++i) key_valid[i] = mask[i] != 0;
  }
  if (op.int8_attention) {
    const kernels::AttentionQuant quant{{op.scale, op.zero_point}, op.key_scale, op.value_scale};
    kernels::attention_qu8(static_cast<const std::uint8_t*>(a.in[0]), static_cast<const std::uint8_t*>(a.in[1]),
                           static_cast<const std::uint8_t*>(a.in[2]), width, batch, seq, op.heads, op.head_size,
                           key_valid, quant, scale, a.out_f32(), width, a.pool);
    return;
  }
  kernels::attention_f32(a.in_f32(0), a.in_f32(1), a.in_f32(2), width, batch, seq, op.heads, op.head_size, key_valid,
                         scale, a.out_f32(), width, a.pool);
}

}  // namespace sparrow::engine::ops
