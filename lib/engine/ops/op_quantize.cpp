// Stand-alone quantize and dequantize, for graphs where a UINT8 value feeds something other than an INT8
// layer (the exporter's files fold every quantize into its layer).
#include "engine/kernels/quant.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void quantize(const OpArgs& a) {
  kernels::qu8_quantize_f32(a.in_f32(0), a.out_elements(), {a.op.scale, a.op.zero_point}, static_cast<std::uint8_t*>(a.out));
}

void dequantize(const OpArgs& a) {
  const auto* q = static_cast<const std::uint8_t*>(a.in[0]);
  float* y = a.out_f32();
  for (std::size_t i = 0, n = a.out_elements(); i < n; ++i)
    y[i] = static_cast<float>(static_cast<std::int32_t>(q[i]) - a.op.zero_point) * a.op.scale;
}

}  // namespace sparrow::engine::ops
