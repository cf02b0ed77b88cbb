#include "engine/kernels/quant.h"

#include <cstring>

#include "engine/kernels/linear.h"

namespace sparrow::kernels {

namespace {

template <class Get>
void pack_panels(std::size_t m, std::size_t k, std::size_t mr, std::uint8_t* out, Get get) {
  const std::size_t k4 = round_up_4(k) / 4;
  std::memset(out, 0, panels_bytes(m, k, mr));
  for (std::size_t t = 0; t < m; ++t) {
    std::uint8_t* panel = out + (t / mr) * panel_stride(k, mr) + (t % mr) * 4;
    for (std::size_t kb = 0; kb < k4; ++kb) {
      for (std::size_t j = 0; j < 4 && kb * 4 + j < k; ++j) panel[kb * mr * 4 + j] = get(t, kb * 4 + j);
    }
  }
}

}  // namespace

void qu8_pack_panels_f32(const float* x, std::size_t m, std::size_t k, std::size_t ldx, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* out) {
  const QuantizePackRowFn row = quantize_pack_kernel().fn;
  const std::size_t stride = panel_stride(k, mr);
  // Rows write every input group and its zero padding; only the tokens past m, in the last panel, need clearing.
  if (m % mr != 0) std::memset(out + (m / mr) * stride, 0, stride);
  for (std::size_t t = 0; t < m; ++t) row(x + t * ldx, k, q, mr, out + (t / mr) * stride + (t % mr) * 4);
}

void qu8_pack_panels_u8(const std::uint8_t* x, std::size_t m, std::size_t k, std::size_t ldx, std::size_t mr,
                        std::uint8_t* out) {
  pack_panels(m, k, mr, out, [&](std::size_t t, std::size_t i) { return x[t * ldx + i]; });
}

void qu8_quantize_f32(const float* x, std::size_t count, quant::ActivationParams q, std::uint8_t* out) {
  for (std::size_t i = 0; i < count; ++i) out[i] = quant::quantize_activation(x[i], q);
}

}  // namespace sparrow::kernels
